"""The guest XML HwabiLibvirtDriver produced, started on the real libvirtd.

Nova's functional framework runs the flows (boot, a default change and a
cold migration between two hosts, a hard reboot) with our driver over
Nova's fake connection; every domain XML the driver defined is then
defined and started on the live qemu:///system, with only what a test
host cannot provide swapped: TCG instead of KVM, a custom qemu64 CPU
around the driver's own ``<maxphysaddr>``, the disks replaced by one local
empty raw image, no network, console or graphics. The QEMU command line
must show the pinned machine type and ``phys-bits``.
"""

import uuid
from pathlib import Path
from unittest import mock

import fixtures
import pytest
from lxml import etree

from tests.functional.conftest import virsh
from tests.functional.test_compute_driver import (
    PC_VERSIONED,
    HwabiDriverTestBase,
)
from tests.functional.test_guest_maxphysaddr_live import (
    QEMU_PID_DIR,
    all_domains,
    qemu_cpu_options,
)

BITS = 46
# What a test host cannot provide, removed from the driver's XML.
UNAVAILABLE_DEVICES = ("disk", "interface", "serial", "console", "graphics",
                       "channel")


def for_live_libvirtd(document: str, image: Path, name: str) -> str:
    """The driver's domain XML, made startable on this host under TCG."""
    root = etree.fromstring(document)
    root.set("type", "qemu")
    root.find("name").text = name
    # A new UUID, also in the SMBIOS system entry Nova writes.
    guest_uuid = str(uuid.uuid4())
    root.find("uuid").text = guest_uuid
    for entry in root.iterfind("sysinfo/system/entry[@name='uuid']"):
        entry.text = guest_uuid
    for tag in ("memory", "currentMemory"):
        element = root.find(tag)
        if element is not None:
            element.attrib.clear()
            element.text = "65536"  # KiB
    cpu = root.find("cpu")
    maxphysaddr = cpu.find("maxphysaddr")
    cpu.clear()
    cpu.set("mode", "custom")
    cpu.set("match", "exact")
    etree.SubElement(cpu, "model").text = "qemu64"
    if maxphysaddr is not None:
        cpu.append(maxphysaddr)
    devices = root.find("devices")
    for device in list(devices):
        if device.tag in UNAVAILABLE_DEVICES:
            devices.remove(device)
    disk = etree.SubElement(devices, "disk", type="file", device="disk")
    etree.SubElement(disk, "driver", name="qemu", type="raw")
    etree.SubElement(disk, "source", file=str(image))
    etree.SubElement(disk, "target", dev="vda", bus="virtio")
    return etree.tostring(root, encoding="unicode")


def qemu_machine(name: str) -> str:
    """The machine type on the running QEMU's command line."""
    pid = (QEMU_PID_DIR / ("%s.pid" % name)).read_text().strip()
    argv = Path("/proc", pid, "cmdline").read_bytes().decode().split("\0")
    value = argv[argv.index("-machine") + 1]
    return value.split(",")[0]


@pytest.mark.usefixtures("libvirtd")
class TestDriverXMLOnLiveLibvirtd(HwabiDriverTestBase):

    def setUp(self):
        super().setUp()
        live_bits = int(etree.fromstring(virsh("capabilities").encode())
                        .find("host/cpu/maxphysaddr").get("bits"))
        self.assertGreaterEqual(live_bits, BITS,
                                "the live host cannot emulate %d bits" %
                                BITS)
        self.start_hwabi_compute("wide1", host_bits=live_bits)
        self.start_hwabi_compute("wide2", host_bits=live_bits)
        self.started = []
        self.addCleanup(self._remove_live_guests)

    def _remove_live_guests(self):
        for name in self.started:
            virsh("destroy", name, check=False)
            virsh("undefine", name, check=False)
        left = set(self.started) & set(all_domains())
        self.assertEqual(set(), left, "domains left behind")

    def start_live(self, document: str) -> str:
        directory = Path(self.useFixture(fixtures.TempDir()).path)
        image = directory / "empty.raw"
        with image.open("wb") as handle:
            handle.truncate(1024 * 1024)
        name = "hwabi-drv-%s" % uuid.uuid4().hex[:10]
        path = directory / ("%s.xml" % name)
        path.write_text(for_live_libvirtd(document, image, name))
        virsh("define", str(path))
        self.started.append(name)
        virsh("start", name)
        return name

    def test_flows_produce_xml_qemu_runs_with_the_pin_and_width(self):
        flavor = self._create_flavor(extra_spec={
            "hw:maxphysaddr_mode": "emulate",
            "hw:maxphysaddr_bits": str(BITS)})
        server = self.boot(flavor_id=flavor, host="wide1")
        produced = {"boot": self.defined_xml(server)}

        self.flags(hw_machine_type=["x86_64=q35"], group="libvirt")
        with mock.patch(
            "nova.virt.libvirt.driver.LibvirtDriver"
            ".migrate_disk_and_power_off", return_value="{}",
        ):
            server = self._migrate_server(server)
        self._confirm_resize(server)
        produced["cold migration"] = self.defined_xml(server)
        self._reboot_server(server, hard=True)
        produced["hard reboot"] = self.defined_xml(server)

        for flow, document in produced.items():
            name = self.start_live(document)
            options = qemu_cpu_options(name)
            self.assertIn("phys-bits=%d" % BITS, options, flow)
            machine = qemu_machine(name)
            if flow == "boot":
                # The first definition uses Nova's alias; libvirt pins it.
                self.assertTrue(machine.startswith("pc-i440fx-"), machine)
            else:
                self.assertEqual(PC_VERSIONED, machine, flow)
