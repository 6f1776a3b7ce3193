"""Recording never changes the guest, proven with Nova's own guest config.

For each case (image properties, ``nova.conf`` settings, guest arch),
Nova 34's real ``LibvirtDriver._get_guest_config`` (on Nova's fake libvirt
connection, as Nova's unit tests build it, with the guest machine types of
the captured Debian 12 multi-arch host) builds the guest from the image
properties; nova-hwabi records from that guest's domain XML
(``hooks.at_startup``), both as Nova wrote it and as the real libvirtd
keeps it after ``virsh define`` (with libvirt's implicit devices: ps2
mouse and keyboard, USB and SCSI controllers, canonical machine type);
then Nova builds the guest again from the record merged in
(``hooks.properties_for_redefinition``). The two device lists must be
equal, device for device (element, type, bus, model).

Each case runs twice: with the image properties in the instance's system
metadata (as Nova stores them at boot, so only defaults get recorded) and
without (so every device property is inferred from the domain).

The cases include one image matching each domain fixture
(``tests/fixtures/domains``), and the issue's case: Nova's default USB
tablet gives ``hw_pointer_model=usbtablet``, no ``hw_input_bus`` and no
USB keyboard.
"""

import re
import uuid
from types import SimpleNamespace

import ddt
import fixtures
import os_vif
import pytest
from lxml import etree
from nova import objects, test
from nova.objects import fields
from nova.tests import fixtures as nova_fixtures
from nova.tests.fixtures import libvirt as fakelibvirt
from nova.tests.unit.virt.libvirt import test_driver as nova_driver_tests
from nova.virt import fake as fake_virt
from nova.virt.libvirt import blockinfo
from nova.virt.libvirt import driver as libvirt_driver

from nova_hwabi.capabilities import parse_guest_domain
from nova_hwabi.capabilities.samples import load_sample
from nova_hwabi.machine_type import hooks
from tests.conftest import DOMAINS
from tests.functional.conftest import virsh

# Real guest machine types (pc-q35-7.2, virt-7.2, ...) for Nova's fake
# connection, which otherwise knows QEMU 2.11's only.
_HOST = etree.fromstring(
    load_sample("x86_64-multiarch-debian12").capabilities_xml)
REAL_GUESTS = {
    guest.find("arch").get("name"): etree.tostring(guest).decode()
    for guest in _HOST.findall("guest")
}

# name -> (image properties, [DEFAULT]/[libvirt] settings, instance
# options). "pointer_model" is [DEFAULT] pointer_model (Nova's default
# usbtablet), "config_drive" adds an iso9660 config drive (a CD-ROM),
# "network" a NIC (default yes), "rng" the flavor's hw_rng:allowed (default
# yes). x86_64 only: Nova's fake connection has no domain capabilities for
# other architectures (the unit tests cover their implicit devices).
CASES = {
    # The case: Nova's default USB tablet.
    "default-usb-tablet": ({}, {}),
    "ps2-mouse": ({}, {"pointer_model": "ps2mouse"}),
    "q35-defaults": ({"hw_machine_type": "q35"}, {"config_drive": True}),
    "conf-q35": ({}, {"hw_machine_type": ["x86_64=q35"],
                      "config_drive": True}),
    "input-bus-usb": ({"hw_input_bus": "usb"}, {}),
    "input-bus-virtio": ({"hw_input_bus": "virtio"}, {}),
    "pointer-model-image": ({"hw_pointer_model": "usbtablet"},
                            {"pointer_model": "ps2mouse"}),
    "scsi-lsilogic": ({"hw_disk_bus": "scsi", "hw_scsi_model": "lsilogic"},
                      {}),
    "scsi-without-controller": ({"hw_disk_bus": "scsi"}, {}),
    "virtio-scsi": ({"hw_machine_type": "q35", "hw_disk_bus": "scsi",
                     "hw_scsi_model": "virtio-scsi",
                     "hw_cdrom_bus": "scsi"}, {"config_drive": True}),
    "usb-disk": ({"hw_disk_bus": "usb"}, {"pointer_model": "ps2mouse"}),
    "sata-disk-on-pc": ({"hw_disk_bus": "sata", "hw_cdrom_bus": "sata"},
                        {"config_drive": True}),
    "models": ({"hw_vif_model": "rtl8139", "hw_video_model": "qxl",
                "hw_rng_model": "virtio"}, {}),
    "video-none": ({"hw_video_model": "none"}, {}),
    "no-virtio-for-bridges": ({}, {"use_virtio_for_bridges": False}),
    "vif-model-rtl8139": ({"hw_vif_model": "rtl8139"}, {}),
    # One image per domain fixture: the properties its devices come from.
    "fixture-q35-emulate46": (
        {"hw_machine_type": "pc-q35-7.2", "hw_scsi_model": "virtio-scsi"},
        {"config_drive": True}),
    "fixture-pc-passthrough": (
        {"hw_machine_type": "pc", "hw_disk_bus": "ide",
         "hw_vif_model": "e1000", "hw_video_model": "cirrus"},
        {"pointer_model": "ps2mouse", "rng": False}),
    "fixture-q35-plain": (
        {"hw_machine_type": "q35", "hw_disk_bus": "scsi",
         "hw_scsi_model": "lsilogic", "hw_video_model": "bochs"},
        {"pointer_model": "ps2mouse", "network": False, "rng": False}),
    "fixture-running-q35": (
        {"hw_machine_type": "q35", "hw_video_model": "vga"},
        {"pointer_model": "ps2mouse", "network": False, "rng": False}),
}

# fixture file -> its case above
FIXTURE_CASES = {
    "q35-emulate46.xml": "fixture-q35-emulate46",
    "pc-passthrough.xml": "fixture-pc-passthrough",
    "q35-plain.xml": "fixture-q35-plain",
    "running-q35.xml": "fixture-running-q35",
}


def device_list(guest) -> list[tuple]:
    """(element, type, bus, model) of each device of a Nova guest config."""
    found = []
    for device in guest.devices:
        element = device.format_dom()
        target = element.find("target")
        model = element.find("model")
        found.append((
            element.tag,
            element.get("device") or element.get("type"),
            element.get("bus") or (None if target is None
                                   else target.get("bus")),
            element.get("model") or (None if model is None
                                     else model.get("type")),
        ))
    return found


def define_and_dump(document: str) -> str:
    """``document`` as the real libvirtd keeps it (define, dumpxml,
    undefine): libvirt's implicit devices and canonical machine type."""
    name = "hwabi-fid-%s" % uuid.uuid4().hex[:8]
    document = re.sub(r"<name>[^<]*</name>", "<name>%s</name>" % name,
                      document, count=1)
    # Nova's driver may pick KVM; TCG defines everywhere.
    document = re.sub(r"<domain type=([\"'])kvm\1", r"<domain type=\1qemu\1",
                      document, count=1)
    path = "/tmp/%s.xml" % name
    with open(path, "w") as handle:
        handle.write(document)
    virsh("define", path)
    try:
        return virsh("dumpxml", name)
    finally:
        virsh("undefine", name, check=False)


@pytest.mark.usefixtures("libvirtd")
@ddt.ddt
class TestRecordingKeepsNovasGuest(test.NoDBTestCase):
    """Nova's guest before recording == Nova's guest from the record."""

    def setUp(self):
        super().setUp()
        self.flags(instances_path=self.useFixture(fixtures.TempDir()).path)
        os_vif.initialize()
        self.libvirt = self.useFixture(nova_fixtures.LibvirtFixture())
        self.useFixture(nova_fixtures.CGroupsFixture())
        self.stub_out("nova.tests.fixtures.libvirt_data.CAPABILITIES_GUEST",
                      REAL_GUESTS)
        self.flags(virt_type="qemu", group="libvirt")
        self.flags(enabled=True, group="vnc")
        self.flags(enabled=False, group="spice")

    # -- building guests with Nova -------------------------------------

    def _configure(self, options: dict) -> None:
        self.libvirt.mock_uname.return_value = fakelibvirt.os_uname(
            "Linux", "", "5.4.0-0-generic", "", fields.Architecture.X86_64)
        self.flags(pointer_model=options.get("pointer_model", "usbtablet"))
        self.flags(hw_machine_type=options.get("hw_machine_type"),
                   use_virtio_for_bridges=options.get(
                       "use_virtio_for_bridges", True),
                   group="libvirt")
        self.flags(config_drive_format="iso9660")
        self.options = options
        self.driver = libvirt_driver.LibvirtDriver(
            fake_virt.FakeVirtAPI(), True)

    def nova_guest(self, properties: dict):
        """Nova's guest config for an instance with these image
        properties."""
        values = nova_driver_tests._create_test_instance()
        values["config_drive"] = (
            "True" if self.options.get("config_drive") else None)
        if not self.options.get("rng", True):
            values["flavor"].extra_specs = {"hw_rng:allowed": "False"}
        instance = objects.Instance(**values)
        image_meta = objects.ImageMeta.from_dict(
            {"disk_format": "raw", "properties": dict(properties)})
        disk_info = blockinfo.get_disk_info("qemu", instance, image_meta)
        network = (nova_driver_tests._fake_network_info(self)
                   if self.options.get("network", True) else [])
        return self.driver._get_guest_config(instance, network, image_meta,
                                             disk_info)

    # -- the property -----------------------------------------------------

    def _record(self, metadata, properties, document):
        record = hooks.InstanceRecord(
            uuid="u", vm_state="active", arch="x86_64",
            system_metadata=metadata, image_properties=properties)
        conf = SimpleNamespace(libvirt=SimpleNamespace(
            hw_machine_type=self.options.get("hw_machine_type")))
        return hooks.at_startup(record, parse_guest_domain(document), conf)

    def _after(self, metadata, properties, change):
        record = hooks.InstanceRecord(
            uuid="u", vm_state="active", arch=None,
            system_metadata={**metadata, **change.set},
            image_properties=properties)
        merged = hooks.properties_for_redefinition(record, properties)
        return self.nova_guest(merged)

    def _check(self, properties, options, live):
        self._configure(options)
        before = self.nova_guest(properties)
        document = before.to_xml()
        if live:
            document = define_and_dump(document)
        stored = {"image_" + key: str(value)
                  for key, value in properties.items()}
        for metadata in (stored, {}):
            change = self._record(metadata, properties, document)
            after = self._after(metadata, properties, change)
            self.assertEqual(
                device_list(before), device_list(after),
                "recording %s changed Nova's guest" % change.describe())
        return before, change

    @ddt.data(*sorted(CASES))
    def test_nova_guest_unchanged_by_recording_its_xml(self, name):
        self._check(*CASES[name], live=False)

    @ddt.data(*sorted(CASES))
    def test_nova_guest_unchanged_by_recording_live_libvirt_xml(self, name):
        self._check(*CASES[name], live=True)

    def test_default_usb_tablet_records_pointer_model_not_input_bus(self):
        before, change = self._check(*CASES["default-usb-tablet"],
                                     live=True)
        self.assertEqual("usbtablet",
                         change.set.get("image_hw_pointer_model"))
        self.assertNotIn("image_hw_input_bus", change.set)
        self.assertIn(("input", "tablet", "usb", None), device_list(before))
        self.assertFalse([d for d in device_list(before)
                          if d[:2] == ("input", "keyboard")])
        # What upstream recorded from the tablet: Nova adds a keyboard.
        wrong = device_list(self.nova_guest({"hw_input_bus": "usb"}))
        self.assertIn(("input", "keyboard", "usb", None), wrong)

    def _fixture_round_trip(self, name, captured):
        properties, options = CASES[FIXTURE_CASES[name]]
        self._configure(options)
        nova_document = define_and_dump(self.nova_guest(properties).to_xml())
        ours = self._record({}, {}, captured).set
        novas = self._record({}, {}, nova_document).set
        # Nova makes no floppy of an image property (only of a block
        # device mapping); the captured pc guest has one. Nova always gives
        # a root disk, which running-q35 lacks.
        ours.pop("image_hw_floppy_bus", None)
        self.assertLessEqual(ours.items(), novas.items())
        self.assertLessEqual(
            {k for k in novas if k.startswith("image_hw_")} - set(ours),
            {"image_hw_disk_bus"} if name == "running-q35.xml" else set())
        # ... and feeding the fixture's record back keeps Nova's guest.
        stored = {"image_" + k: str(v) for k, v in properties.items()}
        for metadata in (stored, {}):
            change = self._record(metadata, properties, captured)
            self.assertEqual(
                device_list(self.nova_guest(properties)),
                device_list(self._after(metadata, properties, change)))

    @ddt.data(*sorted(FIXTURE_CASES))
    def test_fixture_records_what_novas_guest_for_it_records(self, name):
        # The fixture's image: the record from the captured domain equals
        # the one from Nova's guest for that image, defined in libvirtd.
        self._fixture_round_trip(name, (DOMAINS / name).read_text())

    @ddt.data(*sorted(FIXTURE_CASES))
    def test_fixture_defined_again_in_live_libvirtd(self, name):
        # The same, with the fixture's definition captured from the
        # libvirtd running now rather than the stored capture.
        source = DOMAINS / "src" / name.replace(".xml", ".define.xml")
        document = re.sub(r"<uuid>[^<]*</uuid>",
                          "<uuid>%s</uuid>" % uuid.uuid4(),
                          source.read_text(), count=1)
        self._fixture_round_trip(name, define_and_dump(document))
