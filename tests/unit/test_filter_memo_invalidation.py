"""The filters' per-value answers follow a host whose record changes.

Both drop-in filters answer a request once per distinct ``cpu_info``
string / ``supported_instances`` value and find a host's answer by the
identity of the object it holds (``host_data.IdentityKeys``). Nova's
``HostState.update()`` gives a host new objects when its ComputeNode record
changes: the host must then get the answer for its new value, from the
next request on, while hosts still holding the old value keep theirs.
Real HostStates updated from ComputeNode records (cpu_info as the JSON
string nova-compute stores), real RequestSpecs.
"""

import datetime
import json

import pytest

from nova_hwabi.filters import host_data
from nova_hwabi.filters.compute_capabilities import ComputeCapabilitiesFilter
from nova_hwabi.filters.image_properties import ImagePropertiesFilter
from nova_hwabi.testing import inprocess

CCF, IPF = ComputeCapabilitiesFilter, ImagePropertiesFilter
FLEET = 12  # hosts sharing one value, so one stands in for the others
CHANGED = 5  # the host whose record changes


def _cpu_info(vendor="Intel", bits=46, arch="x86_64"):
    return {
        "arch": arch, "model": "Icelake-Server-noTSX", "vendor": vendor,
        "topology": {"cells": 1, "sockets": 1, "cores": 8, "threads": 2},
        "maxphysaddr": {"mode": "emulate", "bits": bits},
        "features": ["vmx", "avx2"],
    }


def _node(index, record, updated_at=None):
    cpu_info, supported = record
    node = inprocess.compute_node(index, cpu_info, supported=supported)
    if updated_at is not None:
        node.updated_at = updated_at
    return node


KVM_X86 = [("x86_64", "kvm", "hvm")]
KVM_ARM = [("aarch64", "kvm", "hvm")]
QEMU_X86 = [("x86_64", "qemu", "hvm")]

# id -> (filter, flavor extra specs, image properties,
#        record before, record after, changed host passes before, after)
CASES = {
    "vendor Intel to AMD": (
        CCF, {"capabilities:cpu_info:vendor": "Intel"}, {},
        (_cpu_info("Intel"), KVM_X86), (_cpu_info("AMD"), KVM_X86),
        True, False),
    "vendor AMD to Intel": (
        CCF, {"capabilities:cpu_info:vendor": "Intel"}, {},
        (_cpu_info("AMD"), KVM_X86), (_cpu_info("Intel"), KVM_X86),
        False, True),
    "feature removed": (
        CCF, {"capabilities:cpu_info:features": "<in> avx2"}, {},
        (_cpu_info(), KVM_X86),
        (dict(_cpu_info(), features=["vmx"]), KVM_X86), True, False),
    "bits 46 to 39": (
        CCF, {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "46"},
        {}, (_cpu_info(bits=46), KVM_X86), (_cpu_info(bits=39), KVM_X86),
        True, False),
    "bits 39 to 48": (
        CCF, {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "46"},
        {}, (_cpu_info(bits=39), KVM_X86), (_cpu_info(bits=48), KVM_X86),
        False, True),
    "cpu_info turns to bad JSON": (
        CCF, {"capabilities:cpu_info:vendor": "Intel"}, {},
        (_cpu_info("Intel"), KVM_X86), ("{not json", KVM_X86),
        True, False),
    "arch x86_64 to aarch64": (
        IPF, {}, {"hw_architecture": "x86_64"},
        (_cpu_info(), KVM_X86), (_cpu_info(arch="aarch64"), KVM_ARM),
        True, False),
    "arch aarch64 to x86_64": (
        IPF, {}, {"hw_architecture": "aarch64"},
        (_cpu_info(), KVM_X86), (_cpu_info(arch="aarch64"), KVM_ARM),
        False, True),
    "hypervisor type kvm to qemu": (
        IPF, {}, {"hw_architecture": "x86_64", "img_hv_type": "kvm"},
        (_cpu_info(), KVM_X86), (_cpu_info(), QEMU_X86), True, False),
    "vm mode hvm to xen": (
        IPF, {}, {"hw_vm_mode": "hvm"},
        (_cpu_info(), KVM_X86), (_cpu_info(), [("x86_64", "kvm", "xen")]),
        True, False),
    "second supported instance added": (
        IPF, {}, {"hw_architecture": "aarch64"},
        (_cpu_info(), KVM_X86), (_cpu_info(), KVM_X86 + KVM_ARM),
        False, True),
}


def _names(hosts):
    return {host.host for host in hosts}


@pytest.mark.parametrize(
    ("filter_class", "extra_specs", "image", "before", "after",
     "passes_before", "passes_after"),
    list(CASES.values()), ids=list(CASES))
def test_changed_record_gives_the_new_answer(filter_class, extra_specs,
                                             image, before, after,
                                             passes_before, passes_after):
    hosts = [inprocess.host_state(_node(index, before))
             for index in range(FLEET)]
    changed = hosts[CHANGED]
    others = _names(hosts) - {changed.host}
    spec = inprocess.request_spec(extra_specs, image)
    host_filter = filter_class()
    # The request's answers per value only: no per-host fallback.
    assert host_filter.memo_path(host_filter.prepare(spec)) is not None
    # Hosts still holding the first value pass or fail with it.
    unchanged = others if passes_before else set()
    for _ in range(2):  # the second time from the cached numbers
        passed = _names(host_filter.filter_all(hosts, spec))
        assert (changed.host in passed) is passes_before
        assert passed - {changed.host} == unchanged
    old_value = (changed.cpu_info, changed.supported_instances)

    later = changed.updated + datetime.timedelta(minutes=1)
    changed.update(compute=_node(CHANGED, after, updated_at=later))
    assert (changed.cpu_info, changed.supported_instances) != old_value

    for _ in range(2):
        passed = _names(host_filter.filter_all(hosts, spec))
        assert (changed.host in passed) is passes_after
        # Hosts still holding the old value keep the old answer.
        assert passed - {changed.host} == unchanged
    # The same answer as the filter gives that host on its own.
    fresh = filter_class()
    reason = fresh.reject_reason(changed, fresh.prepare(spec))
    assert (reason is None) is passes_after


@pytest.mark.parametrize("filter_class", [CCF, IPF])
def test_record_changed_back_gets_its_first_answer(filter_class):
    intel = (_cpu_info("Intel"), KVM_X86)
    amd_arm = (_cpu_info("AMD", arch="aarch64"), KVM_ARM)
    spec = inprocess.request_spec({"capabilities:cpu_info:vendor": "Intel"},
                                  {"hw_architecture": "x86_64"})
    host = inprocess.host_state(_node(1, intel))
    host_filter = filter_class()
    answers = []
    for minutes, record in enumerate((intel, amd_arm, intel, amd_arm)):
        host.update(compute=_node(1, record, updated_at=host.updated
                                  + datetime.timedelta(minutes=minutes + 1)))
        answers.append(list(host_filter.filter_all([host], spec)) == [host])
    assert answers == [True, False, True, False]


@pytest.mark.parametrize("filter_class", [CCF, IPF])
def test_memoised_answers_equal_each_hosts_own(filter_class):
    """A mixed fleet, hosts handed as a generator (as Nova chains filters):
    the per-value answers equal reject_reason asked host by host."""
    records = [
        (_cpu_info("Intel", 46), KVM_X86), (_cpu_info("AMD", 39), KVM_X86),
        (_cpu_info("ARM", arch="aarch64"), KVM_ARM),
        ("{broken", QEMU_X86), (None, KVM_X86),
        (_cpu_info("Intel", 52), KVM_X86 + KVM_ARM),
    ]
    hosts = [inprocess.host_state(_node(index, records[index % 6]))
             for index in range(30)]
    for extra_specs, image in [
        ({"capabilities:cpu_info:vendor": "Intel"}, {}),
        ({"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "46"},
         {"hw_architecture": "x86_64"}),
        ({}, {"hw_architecture": "aarch64"}),
        ({}, {"hw_architecture": "x86_64", "img_hv_type": "qemu"}),
    ]:
        spec = inprocess.request_spec(extra_specs, image)
        host_filter = filter_class()
        passed = list(host_filter.filter_all(iter(hosts), spec))
        own = [host for host in hosts if filter_class().reject_reason(
            host, filter_class().prepare(spec)) is None]
        assert passed == own, (extra_specs, image)


def test_identity_keys_number_a_new_object_afresh():
    keys = host_data.IdentityKeys(lambda v: v if type(v) is str else None)
    first = json.dumps(_cpu_info("Intel"))
    number = keys.key(first)
    assert keys.lookup(id(first)) == number
    replaced = json.dumps(_cpu_info("AMD"))
    assert keys.lookup(id(replaced)) is None  # never seen: the full path
    assert keys.key(replaced) != number
    equal_copy = "".join(list(first))
    assert keys.key(equal_copy) == number


def test_identity_keys_forget_ids_with_their_objects_when_cleared():
    keys = host_data.IdentityKeys(lambda v: v if type(v) is str else None,
                                  limit=2)
    values = ["".join(["value-", str(index)]) for index in range(3)]
    numbers = [keys.key(value) for value in values]
    # Clearing dropped the first two: their ids are no longer cached, so a
    # new object reusing one of them cannot be taken for the old value.
    assert keys.lookup(id(values[0])) is None
    assert keys.lookup(id(values[1])) is None
    assert keys.lookup(id(values[2])) == numbers[2]
    assert len(keys._kept) == len(keys._numbers_by_id) == 1


class _TaggedText(str):
    """A str subclass: IdentityKeys numbers exact strs only."""


@pytest.mark.parametrize("extra_specs", [
    {"capabilities:cpu_info:vendor": "Intel"},  # answers per cpu_info
    {"capabilities:cpu_info:vendor": "Intel",   # every host on its own
     "capabilities:host": "<in> host"},
], ids=["per value", "per host"])
@pytest.mark.parametrize("vendors", [("Intel", "AMD"), ("AMD", "Intel")])
def test_cpu_info_str_subclass_gets_its_own_answer(extra_specs, vendors):
    """A cpu_info that is a str but not exactly one has no IdentityKeys
    number: each such host is checked on its own, never given the answer
    of another host whose value had no number either."""
    hosts = []
    for index, vendor in enumerate(vendors):
        host = inprocess.host_state(_node(index, (_cpu_info(vendor),
                                                  KVM_X86)))
        host.cpu_info = _TaggedText(json.dumps(_cpu_info(vendor)))
        hosts.append(host)
    spec = inprocess.request_spec(extra_specs, {})
    passed = _names(CCF().filter_all(hosts, spec))
    assert passed == {hosts[index].host
                      for index, vendor in enumerate(vendors)
                      if vendor == "Intel"}
