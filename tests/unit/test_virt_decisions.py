"""The compute driver's decisions, as pure functions (no Nova, no libvirt)."""

from types import SimpleNamespace

import pytest

from nova_hwabi import traits
from nova_hwabi.capabilities import (
    LibvirtVersion,
    TraitPolicy,
    host_traits,
    parse_guest_domain,
    parse_host_capabilities,
)
from nova_hwabi.capabilities.samples import load_sample
from nova_hwabi.machine_type import hooks
from nova_hwabi.placement import merge_owned_traits
from nova_hwabi.virt import decisions
from tests.conftest import DOMAINS

DEBIAN = load_sample("x86_64-kvm-debian12")
CAPS = parse_host_capabilities(DEBIAN.capabilities_xml)
EMULATE46 = parse_guest_domain((DOMAINS / "q35-emulate46.xml").read_bytes())


def conf(*entries):
    return SimpleNamespace(
        libvirt=SimpleNamespace(hw_machine_type=list(entries) or None))


# -- apply_change ----------------------------------------------------------

@pytest.mark.parametrize("metadata, change, expected, changed", [
    ({}, hooks.RecordChange(set={"a": "1"}), {"a": "1"}, True),
    ({"a": "1"}, hooks.RecordChange(set={"a": "1"}), {"a": "1"}, False),
    ({"a": "1"}, hooks.RecordChange(unset=("a",)), {}, True),
    ({}, hooks.RecordChange(unset=("a",)), {}, False),
    ({"a": "1"}, hooks.RecordChange(set={"a": "2"}, unset=("b",)),
     {"a": "2"}, True),
])
def test_apply_change_writes_only_differences(metadata, change, expected,
                                              changed):
    assert decisions.apply_change(metadata, change) is changed
    assert metadata == expected


# -- redefinition ------------------------------------------------------------

@pytest.mark.parametrize("metadata, image, expected", [
    # Cold migration from a RequestSpec image without the property, onto
    # a host whose default is q35: the record wins (upstream defect 6).
    ({"image_hw_machine_type": "pc"}, {}, {"hw_machine_type": "pc"}),
    # The versioned pin wins over Nova's alias.
    ({"image_hw_machine_type": "pc", "hwabi_machine_type": "pc-i440fx-7.2"},
     {"hw_machine_type": "pc"}, {"hw_machine_type": "pc-i440fx-7.2"}),
    # Recorded device buses win over a rescue image's.
    ({"image_hw_disk_bus": "scsi"}, {"hw_disk_bus": "virtio"},
     {"hw_disk_bus": "scsi"}),
    # Nothing recorded: the image decides.
    ({}, {"hw_machine_type": "q35"}, {}),
    # Equal values are no override.
    ({"image_hw_machine_type": "q35"}, {"hw_machine_type": "q35"}, {}),
    # Non-ABI image keys in system metadata are not forced onto the guest.
    ({"image_os_distro": "fedora", "image_min_ram": "0"}, {}, {}),
])
def test_redefinition_overrides(metadata, image, expected):
    assert decisions.redefinition_overrides(metadata, image) == expected


@pytest.mark.parametrize("metadata, expected", [
    ({}, None),
    ({"image_hw_machine_type": "q35"}, None),
    ({"image_hw_machine_type": "pc-q35-7.2"}, None),
    ({"hwabi_machine_type": "pc-q35-7.2"}, None),
    ({"hwabi_machine_type": "pc-q35-99.0"}, "pc-q35-99.0"),
    ({"image_hw_machine_type": "pc-q35-2.1"}, "pc-q35-2.1"),
])
def test_missing_machine_type_names_type_and_host(metadata, expected):
    reason = decisions.missing_machine_type(metadata, CAPS, "x86_64", "kvm",
                                            "cmp-7")
    if expected is None:
        assert reason is None
    else:
        assert expected in reason and "cmp-7" in reason


def test_offered_machine_types_has_versioned_and_aliases():
    offered = decisions.offered_machine_types(CAPS, "x86_64", "kvm")
    assert {"pc", "q35", "pc-q35-7.2"} <= offered


@pytest.mark.parametrize("evacuate, forgets", [(False, True), (True, False)])
def test_only_a_rebuild_onto_an_image_forgets(evacuate, forgets):
    assert decisions.rebuild_forgets_machine_type(evacuate) is forgets


# -- capabilities and traits --------------------------------------------------

@pytest.mark.parametrize("cpu_mode, passthrough", [
    ("host-model", False),
    ("host-passthrough", True),
])
def test_address_space_capabilities_follow_our_decision(cpu_mode,
                                                        passthrough):
    decided = host_traits(CAPS, LibvirtVersion(9, 0, 0),
                          TraitPolicy(virt_type="kvm", cpu_mode=cpu_mode))
    assert decisions.address_space_capabilities(decided) == {
        "supports_address_space_passthrough": passthrough,
        "supports_address_space_emulated": True,
    }


def test_address_space_capabilities_off_below_libvirt_8_7():
    decided = host_traits(CAPS, LibvirtVersion(8, 0, 0), TraitPolicy())
    assert not any(decisions.address_space_capabilities(decided).values())


def test_custom_traits_leave_standard_ones_to_the_resource_tracker():
    decided = host_traits(CAPS, LibvirtVersion(9, 0, 0), TraitPolicy(
        report_bits_ladder=True, report_machine_type_traits=True))
    custom = decisions.custom_traits(decided)
    assert traits.ADDRESS_SPACE_EMULATED not in custom
    assert traits.bits_trait(32) in custom
    assert traits.machine_type_trait("x86_64", "pc-q35-7.2") in custom


def test_merge_keeps_foreign_and_replaces_our_custom_traits():
    current = {"COMPUTE_NODE", "CUSTOM_RACK", traits.bits_trait(50),
               traits.ADDRESS_SPACE_PASSTHROUGH}
    desired = {traits.bits_trait(40), "CUSTOM_NOT_OURS"}
    assert merge_owned_traits(current, desired,
                              owned=traits.is_owned_custom) == {
        "COMPUTE_NODE", "CUSTOM_RACK", traits.ADDRESS_SPACE_PASSTHROUGH,
        traits.bits_trait(40)}


# -- start-up ---------------------------------------------------------------

def _record(uuid, metadata=None):
    return hooks.InstanceRecord(uuid=uuid, vm_state="active", arch="x86_64",
                                system_metadata=metadata or {})


def test_record_at_startup_isolates_a_refused_machine_type():
    import dataclasses

    refused = dataclasses.replace(EMULATE46, uuid="bad",
                                  machine="pc-q35-5x2junk")
    legacy = dataclasses.replace(EMULATE46, uuid="legacy",
                                 machine="pc-1.0-qemu-kvm")
    warnings = []

    def unreadable():
        raise RuntimeError("broken row")

    def item(uuid, domain, metadata=None):
        return uuid, lambda: _record(uuid, metadata), domain

    changes, summary = decisions.record_at_startup(
        [item("good", EMULATE46), item("bad", refused), item("none", None),
         item("legacy", legacy),
         item("done", None, {"image_hw_machine_type": "pc-q35-7.2",
                             "hwabi_machine_type": "pc-q35-7.2"}),
         ("unreadable", unreadable, None)],
        conf("x86_64=pc"), lambda domain: None,
        lambda uuid, reason: warnings.append((uuid, reason)))
    assert set(changes) == {"good", "none", "legacy"}
    assert changes["legacy"].set["hwabi_machine_type"] == "pc-1.0-qemu-kvm"
    assert changes["good"].set["hwabi_machine_type"] == "pc-q35-7.2"
    assert changes["none"].set["image_hw_machine_type"] == "pc"
    assert [uuid for uuid, _ in warnings] == ["bad", "unreadable"]
    assert "pc-q35-5x2junk" in warnings[0][1]
    assert "broken row" in warnings[1][1]
    assert (summary.instances, summary.recorded, summary.failed,
            summary.unchanged, summary.no_domain) == (6, 3, 2, 1, 3)
    assert "2 failed" in summary.describe()


COMPLETE = {"hwabi_machine_type": "pc-q35-7.2",
            **{"image_%s" % name: "x" for name in decisions.NOVA_REGISTERED}}


@pytest.mark.parametrize("metadata, needed", [
    ({}, True),
    (COMPLETE, False),
    ({k: v for k, v in COMPLETE.items() if k != "hwabi_machine_type"},
     True),
    ({k: v for k, v in COMPLETE.items() if k != "image_hw_vif_model"},
     True),
])
def test_needs_startup_recording(metadata, needed):
    assert decisions.needs_startup_recording(metadata) is needed
