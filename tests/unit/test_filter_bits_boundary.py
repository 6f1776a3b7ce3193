"""The filters' maxphysaddr bits check at its boundary, in unit tests.

Both drop-in filters get Nova HostStates updated from ComputeNode records
whose cpu_info is the JSON string nova-compute stores (no databases, no
services), and Nova RequestSpecs. Host bits one below, equal to and one
above the request, and hosts with unknown bits under each
``[hwabi_scheduler] unknown_host_bits`` policy, for every way each filter
is asked for a width.
"""

import json

import pytest
from oslo_config import fixture as config_fixture

from nova_hwabi.capabilities import parse_host_capabilities
from nova_hwabi.filters import base
from nova_hwabi.filters.compute_capabilities import ComputeCapabilitiesFilter
from nova_hwabi.filters.image_properties import ImagePropertiesFilter
from nova_hwabi.testing import inprocess
from tests.conftest import (
    PASSTHROUGH_48_BITS,
    PASSTHROUGH_NO_BITS,
    capabilities_fixture,
)

FM, FB = "hw:maxphysaddr_mode", "hw:maxphysaddr_bits"
IM, IB, ARCH = "hw_maxphysaddr_mode", "hw_maxphysaddr_bits", \
    "hw_architecture"

CCF, IPF = ComputeCapabilitiesFilter, ImagePropertiesFilter

# id -> (filter that checks the width, source word in its reason,
#        request(bits) -> (flavor extra specs, image properties))
REQUESTS = {
    "flavor emulate": (CCF, "flavor",
                       lambda n: ({FM: "emulate", FB: str(n)}, {})),
    "flavor bits only": (CCF, "flavor", lambda n: ({FB: str(n)}, {})),
    "flavor bits, image mode": (CCF, "flavor",
                                lambda n: ({FB: str(n)}, {IM: "emulate"})),
    "image emulate": (IPF, "image", lambda n: ({}, {IM: "emulate", IB: n})),
    "image emulate, arch": (IPF, "image", lambda n: (
        {}, {IM: "emulate", IB: n, ARCH: "x86_64"})),
    "image bits only": (IPF, "image", lambda n: ({}, {IB: n})),
    "image bits, flavor mode": (IPF, "image",
                                lambda n: ({FM: "emulate"}, {IB: n})),
}

# Widths at both ends of the valid range (32..52) and one inside.
WIDTHS = (32, 46, 52)
# host bits relative to the request -> does the host pass?
OFFSETS = {-1: False, 0: True, 1: True}
HOST_MODES = ("emulate", "passthrough")


def _cpu_info(mode, bits):
    return json.dumps({
        "arch": "x86_64", "model": "Icelake-Server-noTSX", "vendor": "Intel",
        "topology": {"cells": 1, "sockets": 1, "cores": 8, "threads": 2},
        "maxphysaddr": {"mode": mode, "bits": bits}, "features": ["vmx"],
    })


def _fixture_cpu_info(name):
    caps = parse_host_capabilities(capabilities_fixture(name))
    return json.dumps(caps.to_cpu_info())


# Hosts whose bits the filters cannot know, as cpu_info strings.
UNKNOWN_HOSTS = {
    "no maxphysaddr": json.dumps({"arch": "x86_64", "features": []}),
    "passthrough without bits": _fixture_cpu_info(PASSTHROUGH_NO_BITS),
    "bits null": _cpu_info("emulate", None),
    "bits not a number": _cpu_info("emulate", "many"),
    "cpu_info not JSON": "this is not JSON",
    "cpu_info a JSON list": json.dumps(["maxphysaddr", 52]),
}


@pytest.fixture
def policy():
    """Set ``[hwabi_scheduler] unknown_host_bits`` on Nova's CONF."""
    conf = config_fixture.Config(base.CONF)
    conf.setUp()

    def set_policy(value):
        conf.config(unknown_host_bits=value, group="hwabi_scheduler")

    set_policy("reject")
    yield set_policy
    conf.cleanUp()


def _host(cpu_info):
    state = inprocess.host_state(inprocess.compute_node(1, cpu_info))
    assert isinstance(state.cpu_info, str)
    return state


def _run(request_id, bits, host):
    """(passed through filter_all, reject reason) for one host."""
    filter_class, _, request = REQUESTS[request_id]
    spec = inprocess.request_spec(*request(bits))
    passed = list(filter_class().filter_all([host], spec)) == [host]
    fresh = filter_class()
    reason = fresh.reject_reason(host, fresh.prepare(spec))
    return passed, reason


BOUNDARY = [
    pytest.param(request_id, needed, offset, mode,
                 id="%s-%d-host%+d-%s" % (request_id, needed, offset, mode))
    for request_id in REQUESTS
    for needed in WIDTHS
    for offset in OFFSETS
    for mode in HOST_MODES
]


@pytest.mark.parametrize(("request_id", "needed", "offset", "host_mode"),
                         BOUNDARY)
def test_host_bits_at_the_boundary(policy, request_id, needed, offset,
                                   host_mode):
    host_bits = needed + offset
    passed, reason = _run(request_id, needed,
                          _host(_cpu_info(host_mode, host_bits)))
    assert passed is OFFSETS[offset]
    if OFFSETS[offset]:
        assert reason is None
    else:
        source = REQUESTS[request_id][1]
        assert reason == "maxphysaddr bits %d < %d asked by the %s" % (
            host_bits, needed, source)


@pytest.mark.parametrize(("request_id", "needed", "expected"), [
    ("flavor emulate", 48, True),
    ("flavor emulate", 49, False),
    ("image emulate, arch", 48, True),
    ("image emulate, arch", 49, False),
])
def test_passthrough_host_from_capabilities(policy, request_id, needed,
                                            expected):
    # cpu_info as nova-compute builds it from <maxphysaddr
    # mode='passthrough' bits='48'/>: the host's width still counts.
    host = _host(_fixture_cpu_info(PASSTHROUGH_48_BITS))
    assert _run(request_id, needed, host)[0] is expected


UNKNOWN = [
    pytest.param(request_id, host_id, setting,
                 id="%s-%s-%s" % (request_id, host_id, setting))
    for request_id in REQUESTS
    for host_id in UNKNOWN_HOSTS
    for setting in ("reject", "accept")
]


@pytest.mark.parametrize(("request_id", "host_id", "setting"), UNKNOWN)
def test_unknown_host_bits_follow_the_policy(policy, request_id, host_id,
                                             setting):
    policy(setting)
    passed, reason = _run(request_id, 46, _host(UNKNOWN_HOSTS[host_id]))
    if setting == "accept":
        assert passed and reason is None
    else:
        source = REQUESTS[request_id][1]
        assert not passed
        assert reason == (
            "host reports no maxphysaddr bits, %s needs 46 "
            "([hwabi_scheduler] unknown_host_bits = reject)" % source
        )


@pytest.mark.parametrize(("host_bits", "needed", "setting", "passes"), [
    (45, 46, "reject", False),
    (46, 46, "reject", True),
    (47, 46, "reject", True),
    (45, 46, "accept", False),
    (46, 46, "accept", True),
    (None, 46, "reject", False),
    (None, 46, "accept", True),
    (31, 32, "reject", False),
    (32, 32, "reject", True),
    (51, 52, "reject", False),
    (52, 52, "reject", True),
])
def test_bits_reason(host_bits, needed, setting, passes):
    reason = base.bits_reason(host_bits, needed, setting, "flavor")
    assert (reason is None) is passes
