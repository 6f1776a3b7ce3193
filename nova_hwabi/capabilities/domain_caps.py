"""Parse ``virsh domcapabilities`` (virConnectGetDomainCapabilities)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from lxml import etree

from nova_hwabi.capabilities import xml
from nova_hwabi.capabilities.errors import CapabilitiesError
from nova_hwabi.capabilities.host import parse_maxphysaddr
from nova_hwabi.capabilities.model import MaxPhysAddr
from nova_hwabi.conf.capabilities import DEFAULT_MAX_XML_BYTES

_ROOT = "domainCapabilities"


class DeviceSupport(NamedTuple):
    """One ``<devices>`` child: whether it is supported and its enums."""

    supported: bool
    enums: tuple[tuple[str, tuple[str, ...]], ...]

    def values(self, enum_name: str) -> tuple[str, ...]:
        """The values of enum ``enum_name``; empty if absent."""
        for name, values in self.enums:
            if name == enum_name:
                return values
        return ()


@dataclass(frozen=True, slots=True)
class HostModelCPU:
    """The ``host-model`` CPU libvirt would give a guest on this host."""

    model: str | None
    vendor: str | None
    maxphysaddr: MaxPhysAddr | None
    required_features: frozenset[str]
    disabled_features: frozenset[str]


@dataclass(frozen=True, slots=True)
class DomainCapabilities:
    """A parsed ``<domainCapabilities>`` document."""

    path: str | None
    domain_type: str
    machine: str | None
    arch: str
    max_vcpus: int | None
    cpu_modes: frozenset[str]
    host_model: HostModelCPU | None
    devices: tuple[tuple[str, DeviceSupport], ...]
    features: frozenset[str]

    def device(self, name: str) -> DeviceSupport | None:
        """The support of device ``name`` (``disk``, ``video``...)."""
        for device_name, support in self.devices:
            if device_name == name:
                return support
        return None

    def device_values(self, device: str, enum_name: str) -> tuple[str, ...]:
        """Enum values of a supported device; empty when unsupported."""
        support = self.device(device)
        if support is None or not support.supported:
            return ()
        return support.values(enum_name)

    @property
    def disk_buses(self) -> tuple[str, ...]:
        """Buses a disk, cdrom or floppy can use."""
        return self.device_values("disk", "bus")

    @property
    def video_models(self) -> tuple[str, ...]:
        """Video device models."""
        return self.device_values("video", "modelType")

    @property
    def rng_models(self) -> tuple[str, ...]:
        """RNG device models."""
        return self.device_values("rng", "model")

    @property
    def maxphysaddr_limit(self) -> int | None:
        """The host-model CPU's passthrough address-width limit, if any."""
        host_model = self.host_model
        if host_model is None or host_model.maxphysaddr is None:
            return None
        return host_model.maxphysaddr.limit


def parse_domain_capabilities(
    document: str | bytes, *, max_bytes: int = DEFAULT_MAX_XML_BYTES
) -> DomainCapabilities:
    """Parse a ``<domainCapabilities>`` document.

    Raises :class:`CapabilitiesError`, and nothing else, for any input that
    is not a usable domain capabilities document.
    """
    root = xml.parse_document(document, _ROOT, max_bytes)
    path: str | None = None
    machine: str | None = None
    max_vcpus: int | None = None
    cpu_modes: frozenset[str] = frozenset()
    host_model: HostModelCPU | None = None
    devices: tuple[tuple[str, DeviceSupport], ...] = ()
    features: frozenset[str] = frozenset()
    domain_type = arch = None
    for child in root:
        tag = child.tag
        if tag == "domain":
            domain_type = xml.required_text(child, _ROOT + "/domain")
        elif tag == "arch":
            arch = xml.required_text(child, _ROOT + "/arch")
        elif tag == "path":
            path = xml.optional_text(child)
        elif tag == "machine":
            machine = xml.optional_text(child)
        elif tag == "vcpu":
            max_vcpus = xml.optional_int(
                child.get("max"), _ROOT + "/vcpu@max", minimum=1
            )
        elif tag == "cpu":
            cpu_modes, host_model = _parse_cpu(child)
        elif tag == "devices":
            devices = _parse_devices(child, _ROOT + "/devices")
        elif tag == "features":
            features = _supported_children(child)
    if domain_type is None:
        raise CapabilitiesError("%s: missing <domain> element" % _ROOT)
    if arch is None:
        raise CapabilitiesError("%s: missing <arch> element" % _ROOT)
    return DomainCapabilities(
        path=path, domain_type=domain_type, machine=machine, arch=arch,
        max_vcpus=max_vcpus, cpu_modes=cpu_modes, host_model=host_model,
        devices=devices, features=features,
    )


def _parse_cpu(
    cpu: etree._Element,
) -> tuple[frozenset[str], HostModelCPU | None]:
    where = _ROOT + "/cpu/mode"
    modes: set[str] = set()
    host_model = None
    for mode in cpu.iterchildren("mode"):
        name = mode.get("name")
        if not name:
            raise CapabilitiesError("%s: missing 'name' attribute" % where)
        if not xml.yes_no(mode.get("supported"), where + "@supported"):
            continue
        modes.add(name)
        if name == "host-model":
            host_model = _parse_host_model(mode, where + "[host-model]")
    return frozenset(modes), host_model


def _parse_host_model(mode: etree._Element, where: str) -> HostModelCPU:
    model = vendor = maxphysaddr = None
    required: set[str] = set()
    disabled: set[str] = set()
    for child in mode:
        tag = child.tag
        if tag == "feature":
            name = child.get("name")
            if not name:
                raise CapabilitiesError(
                    "%s/feature: missing 'name' attribute" % where
                )
            (disabled if child.get("policy") == "disable" else required).add(
                name
            )
        elif tag == "model":
            model = xml.optional_text(child)
        elif tag == "vendor":
            vendor = xml.optional_text(child)
        elif tag == "maxphysaddr":
            maxphysaddr = parse_maxphysaddr(child, where + "/maxphysaddr")
    return HostModelCPU(
        model=model,
        vendor=vendor,
        maxphysaddr=maxphysaddr,
        required_features=frozenset(required),
        disabled_features=frozenset(disabled),
    )


def _parse_devices(
    devices: etree._Element, where: str
) -> tuple[tuple[str, DeviceSupport], ...]:
    parsed = []
    for device in devices:
        tag = xml.element_tag(device)
        device_where = "%s/%s" % (where, tag)
        supported = xml.yes_no(
            device.get("supported"), device_where + "@supported"
        )
        parsed.append((tag, DeviceSupport(
            supported, _parse_enums(device, device_where)
        )))
    return tuple(parsed)


def _parse_enums(
    element: etree._Element, where: str
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    enums = []
    for enum in element.iterchildren("enum"):
        name = enum.get("name")
        if not name:
            raise CapabilitiesError(
                "%s/enum: missing 'name' attribute" % where
            )
        values = tuple(
            xml.required_text(value, "%s/enum[%s]/value" % (where, name))
            for value in enum.iterchildren("value")
        )
        enums.append((name, values))
    return tuple(enums)


def _supported_children(features: etree._Element) -> frozenset[str]:
    where = _ROOT + "/features"
    return frozenset(
        xml.element_tag(feature)
        for feature in features
        if xml.yes_no(
            feature.get("supported"),
            "%s/%s@supported" % (where, xml.element_tag(feature)),
        )
    )
