"""Parse a guest's libvirt domain XML (``virsh dumpxml``).

Only what defines the guest's hardware ABI is kept: machine type, CPU mode,
maxphysaddr and the device buses and models Nova records as image
properties (``hw_disk_bus``, ``hw_vif_model``, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from nova_hwabi.capabilities import xml
from nova_hwabi.capabilities.errors import CapabilitiesError
from nova_hwabi.capabilities.host import parse_maxphysaddr
from nova_hwabi.capabilities.model import MaxPhysAddr
from nova_hwabi.conf.capabilities import DEFAULT_MAX_XML_BYTES

# Nova's hw_pointer_model value for a USB tablet, the only pointer model
# its libvirt driver creates.
USB_TABLET = "usbtablet"


@dataclass(frozen=True, slots=True)
class GuestDomain:
    """The ABI-relevant parts of one libvirt domain.

    Each bus/model tuple lists distinct values in document order.
    ``input_buses`` holds the bus of every ``<input>`` (libvirt's implicit
    ps2 mouse and keyboard included), ``keyboard_buses`` those of keyboards
    only and ``pointer_models`` ``usbtablet`` for a USB tablet.
    """

    uuid: str
    name: str | None
    domain_type: str
    arch: str | None
    machine: str | None
    cpu_mode: str | None
    maxphysaddr: MaxPhysAddr | None
    disk_buses: tuple[str, ...]
    cdrom_buses: tuple[str, ...]
    floppy_buses: tuple[str, ...]
    vif_models: tuple[str, ...]
    video_models: tuple[str, ...]
    input_buses: tuple[str, ...]
    pointer_models: tuple[str, ...]
    rng_models: tuple[str, ...]
    scsi_models: tuple[str, ...]
    keyboard_buses: tuple[str, ...] = ()


class _Collector:
    """Distinct values per property, in first-seen order."""

    def __init__(self) -> None:
        self.values: dict[str, dict[str, None]] = {}

    def add(self, key: str, value: str | None) -> None:
        if value:
            self.values.setdefault(key, {})[value] = None

    def get(self, key: str) -> tuple[str, ...]:
        return tuple(self.values.get(key, ()))


def parse_guest_domain(
    document: str | bytes, *, max_bytes: int = DEFAULT_MAX_XML_BYTES
) -> GuestDomain:
    """Parse a ``<domain>`` document into :class:`GuestDomain`.

    Raises :class:`CapabilitiesError`, and nothing else, for any input that
    is not a usable domain document.
    """
    root = xml.parse_document(document, "domain", max_bytes)
    domain_type = root.get("type")
    if not domain_type:
        raise CapabilitiesError("domain: missing 'type' attribute")
    uuid = name = arch = machine = None
    cpu_mode = maxphysaddr = None
    devices = _Collector()
    for child in root:
        tag = child.tag
        if tag == "uuid":
            uuid = xml.required_text(child, "domain/uuid")
        elif tag == "name":
            name = xml.optional_text(child)
        elif tag == "os":
            arch, machine = _parse_os(child)
        elif tag == "cpu":
            cpu_mode, maxphysaddr = _parse_cpu(child)
        elif tag == "devices":
            _collect_devices(child, devices)
    if uuid is None:
        raise CapabilitiesError("domain: missing <uuid> element")
    return GuestDomain(
        uuid=uuid,
        name=name,
        domain_type=domain_type,
        arch=arch,
        machine=machine,
        cpu_mode=cpu_mode,
        maxphysaddr=maxphysaddr,
        disk_buses=devices.get("disk"),
        cdrom_buses=devices.get("cdrom"),
        floppy_buses=devices.get("floppy"),
        vif_models=devices.get("interface"),
        video_models=devices.get("video"),
        input_buses=devices.get("input"),
        pointer_models=devices.get("pointer"),
        rng_models=devices.get("rng"),
        scsi_models=devices.get("scsi"),
        keyboard_buses=devices.get("keyboard"),
    )


def _parse_os(os_element: etree._Element) -> tuple[str | None, str | None]:
    os_type = os_element.find("type")
    if os_type is None:
        return None, None
    return os_type.get("arch"), os_type.get("machine")


def _parse_cpu(cpu: etree._Element) -> tuple[str, MaxPhysAddr | None]:
    # libvirt's default CPU mode, when the attribute is left out, is custom.
    mode = cpu.get("mode") or "custom"
    maxphysaddr = None
    element = cpu.find("maxphysaddr")
    if element is not None:
        maxphysaddr = parse_maxphysaddr(element, "domain/cpu/maxphysaddr")
    return mode, maxphysaddr


def _collect_devices(devices: etree._Element, out: _Collector) -> None:
    for device in devices:
        tag = device.tag
        if tag == "disk":
            target = device.find("target")
            bus = None if target is None else target.get("bus")
            out.add(device.get("device") or "disk", bus)
        elif tag in ("interface", "video"):
            model = device.find("model")
            out.add(tag, None if model is None else model.get("type"))
        elif tag == "input":
            out.add("input", device.get("bus"))
            if device.get("type") == "keyboard":
                out.add("keyboard", device.get("bus"))
            if device.get("type") == "tablet" and device.get("bus") == "usb":
                out.add("pointer", USB_TABLET)
        elif tag == "rng":
            out.add("rng", device.get("model"))
        elif tag == "controller" and device.get("type") == "scsi":
            out.add("scsi", device.get("model"))
