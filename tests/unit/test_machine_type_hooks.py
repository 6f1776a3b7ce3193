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


# --- recording never changes the guest: what each device means ----------

def domain(devices, arch="x86_64", machine="pc-q35-7.2"):
    return parse_guest_domain(
        "<domain type='kvm'><uuid>u</uuid><os><type arch='%s' "
        "machine='%s'>hvm</type></os><devices>%s</devices></domain>"
        % (arch, machine, devices)
    )


PS2 = "<input type='mouse' bus='ps2'/><input type='keyboard' bus='ps2'/>"
USB_TABLET = "<input type='tablet' bus='usb'/>"


def disk(bus, device="disk"):
    return "<disk device='%s'><target bus='%s'/></disk>" % (device, bus)


def scsi(model):
    return "<controller type='scsi' index='0' model='%s'/>" % model


# devices, arch, machine -> the device properties recorded (image_ prefix
# left out). Each value is the one Nova 34 would itself have used to
# produce the device; feeding it back must give the same devices.
DEVICES = [
    # The case: Nova's default USB tablet ([DEFAULT] pointer_model)
    # is hw_pointer_model=usbtablet; recording hw_input_bus=usb from it
    # would make Nova add a USB keyboard at the next hard reboot.
    pytest.param(USB_TABLET + PS2, "x86_64", "pc-q35-7.2",
                 {"hw_pointer_model": "usbtablet"}, id="usb-tablet-only"),
    # libvirt's own ps2 mouse and keyboard mean nothing.
    pytest.param(PS2, "x86_64", "pc-i440fx-7.2", {}, id="ps2-only"),
    # hw_input_bus gives a keyboard and a tablet on its bus.
    pytest.param(USB_TABLET + "<input type='keyboard' bus='usb'/>" + PS2,
                 "x86_64", "pc-q35-7.2",
                 {"hw_input_bus": "usb", "hw_pointer_model": "usbtablet"},
                 id="input-bus-usb"),
    pytest.param("<input type='tablet' bus='virtio'/>"
                 "<input type='keyboard' bus='virtio'/>" + PS2,
                 "x86_64", "pc-q35-7.2", {"hw_input_bus": "virtio"},
                 id="input-bus-virtio"),
    # A keyboard alone on the bus (the SPICE agent suppresses the tablet).
    pytest.param("<input type='keyboard' bus='virtio'/>" + PS2,
                 "x86_64", "pc-q35-7.2", {"hw_input_bus": "virtio"},
                 id="virtio-keyboard-no-tablet"),
    # A tablet on virtio without its keyboard is nothing Nova makes.
    pytest.param("<input type='tablet' bus='virtio'/>" + PS2, "x86_64",
                 "pc-q35-7.2", {}, id="virtio-tablet-alone"),
    # Nova adds a USB keyboard to every AArch64 guest by itself.
    pytest.param(USB_TABLET + "<input type='keyboard' bus='usb'/>",
                 "aarch64", "virt-7.2", {"hw_pointer_model": "usbtablet"},
                 id="aarch64-default-keyboard"),
    pytest.param("<input type='keyboard' bus='usb'/>", "aarch64",
                 "virt-7.2", {}, id="aarch64-keyboard-no-tablet"),
    # ... and libvirt one to every pseries guest.
    pytest.param("<input type='keyboard' bus='usb'/>"
                 "<input type='mouse' bus='usb'/>", "ppc64le",
                 "pseries-7.2", {}, id="pseries-implicit-usb-input"),
    # Disks, CD-ROMs and floppies: their bus, default or not.
    pytest.param(disk("virtio") + disk("sata", "cdrom"), "x86_64",
                 "pc-q35-7.2",
                 {"hw_disk_bus": "virtio", "hw_cdrom_bus": "sata"},
                 id="q35-default-buses"),
    pytest.param(disk("ide") + disk("ide", "cdrom") + disk("fdc", "floppy"),
                 "x86_64", "pc-i440fx-7.2",
                 {"hw_disk_bus": "ide", "hw_cdrom_bus": "ide",
                  "hw_floppy_bus": "fdc"}, id="i440fx-ide"),
    # A bus the machine cannot have is nothing Nova could have used.
    pytest.param(disk("ide"), "x86_64", "pc-q35-7.2", {},
                 id="q35-ide-refused"),
    # SCSI: a controller of libvirt's default model next to SCSI disks may
    # be libvirt's own; any other model, or one with no SCSI disk, is
    # Nova's hw_scsi_model.
    pytest.param(disk("scsi") + scsi("lsilogic"), "x86_64", "pc-q35-7.2",
                 {"hw_disk_bus": "scsi"}, id="scsi-implicit-lsilogic"),
    pytest.param(disk("scsi") + scsi("virtio-scsi"), "x86_64",
                 "pc-q35-7.2",
                 {"hw_disk_bus": "scsi", "hw_scsi_model": "virtio-scsi"},
                 id="scsi-virtio-scsi"),
    pytest.param(disk("virtio") + scsi("lsilogic"), "x86_64", "pc-q35-7.2",
                 {"hw_disk_bus": "virtio", "hw_scsi_model": "lsilogic"},
                 id="lsilogic-without-scsi-disk"),
    pytest.param(disk("scsi") + scsi("virtio-scsi"), "aarch64", "virt-7.2",
                 {"hw_disk_bus": "scsi"}, id="virt-implicit-virtio-scsi"),
    # Models of devices Nova always adds.
    pytest.param("<interface type='user'><model type='e1000'/></interface>"
                 "<video><model type='cirrus'/></video>"
                 "<rng model='virtio'><backend model='random'/></rng>",
                 "x86_64", "pc-i440fx-7.2",
                 {"hw_vif_model": "e1000", "hw_video_model": "cirrus",
                  "hw_rng_model": "virtio"}, id="models"),
    pytest.param("<interface type='user'/><video><model type='none'/>"
                 "</video>", "x86_64", "pc-q35-7.2",
                 {"hw_video_model": "none"}, id="nic-without-model"),
    # libvirt fills in its default NIC model where Nova gave none.
    pytest.param("<interface type='user'><model type='rtl8139'/>"
                 "</interface>", "x86_64", "pc-q35-7.2", {},
                 id="libvirt-default-nic-model"),
    pytest.param("<interface type='user'><model type='virtio'/>"
                 "</interface>", "aarch64", "virt-7.2", {},
                 id="virt-default-nic-model"),
]


@pytest.mark.parametrize(("devices", "arch", "machine", "expected"),
                         DEVICES)
def test_devices_record_what_nova_would_have_used(devices, arch, machine,
                                                  expected):
    change = hooks.at_startup(record(arch=arch),
                              domain(devices, arch, machine), conf())
    recorded = {key[len("image_"):]: value
                for key, value in change.set.items()
                if key.startswith("image_hw_") and key != hooks.RECORDED_KEY}
    assert recorded == expected
    assert all(change.sources["image_" + key] == "running domain"
               for key in expected)


# fixture -> the device properties recorded from it
FIXTURES = [
    ("q35-emulate46.xml",
     {"hw_disk_bus": "virtio", "hw_cdrom_bus": "sata",
      "hw_scsi_model": "virtio-scsi", "hw_vif_model": "virtio",
      "hw_pointer_model": "usbtablet", "hw_video_model": "virtio",
      "hw_rng_model": "virtio"}),
    ("pc-passthrough.xml",
     {"hw_disk_bus": "ide", "hw_floppy_bus": "fdc", "hw_vif_model": "e1000",
      "hw_video_model": "cirrus"}),
    ("q35-plain.xml", {"hw_disk_bus": "scsi", "hw_video_model": "bochs"}),
    ("running-q35.xml", {"hw_video_model": "vga"}),
]


@pytest.mark.parametrize(("name", "expected"), FIXTURES,
                         ids=[name for name, _ in FIXTURES])
def test_every_fixture_records_no_input_bus_from_implicit_devices(
        name, expected):
    parsed = parse_guest_domain((DOMAINS / name).read_bytes())
    change = hooks.at_startup(record(), parsed, conf())
    recorded = {key[len("image_"):]: value
                for key, value in change.set.items()
                if key.startswith("image_hw_") and key != hooks.RECORDED_KEY}
    assert recorded == expected


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
    parsed = parse_guest_domain((DOMAINS / domain_file).read_bytes())
    record = hooks.InstanceRecord(uuid=parsed.uuid, vm_state="active",
                                  arch="x86_64", system_metadata=before)
    change = hooks.width_at_definition(record, parsed, host_bits)
    assert (change.set, change.unset) == (to_set, to_unset)
    assert set(change.sources) == {*to_set, *to_unset}
