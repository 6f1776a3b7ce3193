"""Recording hooks: what a compute host records, from record and domain."""

from types import SimpleNamespace

import pytest

from nova_hwabi.capabilities import parse_guest_domain
from nova_hwabi.machine_type import hooks
from tests.conftest import DOMAINS

EMULATE46 = parse_guest_domain((DOMAINS / "q35-emulate46.xml").read_bytes())
PASSTHROUGH = parse_guest_domain(
    (DOMAINS / "pc-passthrough.xml").read_bytes()
)


def conf(*entries):
    return SimpleNamespace(
        libvirt=SimpleNamespace(hw_machine_type=list(entries) or None)
    )


def record(metadata=None, image=None, arch="x86_64"):
    return hooks.InstanceRecord(
        uuid="u", vm_state="active", arch=arch,
        system_metadata=metadata or {}, image_properties=image or {},
    )


# metadata, image, domain, config -> (recorded value, source, pinned)
STARTUP = [
    ({}, {}, EMULATE46, conf("x86_64=pc"),
     ("pc-q35-7.2", "running domain", "pc-q35-7.2")),
    ({}, {"hw_machine_type": "q35"}, None, conf(),
     ("q35", "image property", None)),
    ({}, {}, None, conf("x86_64=q35"), ("q35", "default for x86_64", None)),
    ({}, {}, None, conf(), ("pc", "default for x86_64", None)),
    ({"image_hw_machine_type": "pc-i440fx-7.2"}, {}, EMULATE46, conf(),
     (None, None, "pc-q35-7.2")),
]


@pytest.mark.parametrize(("metadata", "image", "domain", "config",
                          "expected"), STARTUP)
def test_startup_machine_type_sources(metadata, image, domain, config,
                                      expected):
    change = hooks.at_startup(record(metadata, image), domain, config)
    value, source, pinned = expected
    assert change.set.get(hooks.RECORDED_KEY) == value
    assert change.sources.get(hooks.RECORDED_KEY) == source
    assert change.set.get(hooks.PINNED_KEY) == pinned


def test_alias_is_pinned_through_the_host_resolver():
    change = hooks.at_startup(record(), None, conf("x86_64=q35"),
                              resolve={"q35": "pc-q35-7.2"}.get)
    assert change.set[hooks.RECORDED_KEY] == "q35"
    assert change.set[hooks.PINNED_KEY] == "pc-q35-7.2"
    assert change.sources[hooks.PINNED_KEY] == "resolved on this host"


def test_device_models_come_from_the_domain_unless_recorded():
    change = hooks.at_startup(
        record({"image_hw_disk_bus": "scsi"}), EMULATE46, conf()
    )
    assert "image_hw_disk_bus" not in change.set
    assert change.set["image_hw_vif_model"] == "virtio"
    assert change.set["image_hw_cdrom_bus"] == "sata"
    assert change.set["image_hw_pointer_model"] == "usbtablet"
    # hw_rescue_bus only shows while rescued: never inferred.
    assert "image_hw_rescue_bus" not in change.set


def test_values_the_machine_cannot_have_are_not_recorded():
    # The i440fx guest's ps2 keyboard is not a Nova input bus value.
    change = hooks.at_startup(record(), PASSTHROUGH, conf())
    assert change.set["image_hw_disk_bus"] == "ide"
    assert "image_hw_input_bus" not in change.set


def test_startup_is_idempotent():
    first = hooks.at_startup(record(), EMULATE46, conf())
    second = hooks.at_startup(record(first.set), EMULATE46, conf())
    assert second.empty
    assert second.describe() == "nothing to record"


def test_spawn_pins_what_libvirt_chose():
    change = hooks.at_spawn(record({"image_hw_machine_type": "q35"}),
                            EMULATE46, conf())
    assert change.set[hooks.PINNED_KEY] == "pc-q35-7.2"
    assert hooks.RECORDED_KEY not in change.set


def test_rebuild_forgets_the_machine_type_only():
    change = hooks.at_rebuild(record({
        "image_hw_machine_type": "q35", "hwabi_machine_type": "pc-q35-7.2",
        "image_hw_disk_bus": "virtio",
    }))
    assert set(change.unset) == {hooks.RECORDED_KEY, hooks.PINNED_KEY}
    assert not change.set


def test_move_changes_nothing_and_recorded_values_win():
    recorded = record({"image_hw_machine_type": "pc",
                       "hwabi_machine_type": "pc-i440fx-7.2",
                       "image_hw_disk_bus": "ide"})
    assert hooks.at_move(recorded).empty
    # Upstream rebuilt from the RequestSpec image and the destination's
    # default (q35): the recorded pinned type must win.
    merged = hooks.properties_for_redefinition(
        recorded, {"hw_machine_type": "q35", "hw_disk_bus": "virtio"}
    )
    assert merged["hw_machine_type"] == "pc-i440fx-7.2"
    assert merged["hw_disk_bus"] == "ide"


# -- address width at definition -------------------------------------------

WIDTH_DOMAINS = {
    "passthrough on 48 bits": ("pc-passthrough.xml", 48, {}, {
        "hwabi_maxphysaddr_mode": "passthrough",
        "hwabi_maxphysaddr_bits": "48"}, ()),
    "passthrough, already recorded": ("pc-passthrough.xml", 48, {
        "hwabi_maxphysaddr_mode": "passthrough",
        "hwabi_maxphysaddr_bits": "48"}, {}, ()),
    "passthrough moved to 52 bits": ("pc-passthrough.xml", 52, {
        "hwabi_maxphysaddr_mode": "passthrough",
        "hwabi_maxphysaddr_bits": "48"}, {"hwabi_maxphysaddr_bits": "52"},
        ()),
    "emulate 46": ("q35-emulate46.xml", 39, {}, {
        "hwabi_maxphysaddr_mode": "emulate",
        "hwabi_maxphysaddr_bits": "46"}, ()),
    "passthrough on a host without bits": ("pc-passthrough.xml", None, {
        "hwabi_maxphysaddr_mode": "passthrough",
        "hwabi_maxphysaddr_bits": "48"}, {},
        ("hwabi_maxphysaddr_mode", "hwabi_maxphysaddr_bits")),
}


@pytest.mark.parametrize(("domain_file", "host_bits", "before", "to_set",
                          "to_unset"), list(WIDTH_DOMAINS.values()),
                         ids=list(WIDTH_DOMAINS))
def test_width_at_definition(domain_file, host_bits, before, to_set,
                             to_unset):
    domain = parse_guest_domain((DOMAINS / domain_file).read_bytes())
    record = hooks.InstanceRecord(uuid=domain.uuid, vm_state="active",
                                        arch="x86_64",
                                        system_metadata=before)
    change = hooks.width_at_definition(record, domain, host_bits)
    assert (change.set, change.unset) == (to_set, to_unset)
    assert set(change.sources) == {*to_set, *to_unset}
