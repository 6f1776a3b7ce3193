"""Parse ``virsh capabilities`` (virConnectGetCapabilities) documents.

The walk visits only the elements this package uses, each once, in
document order; everything else (secmodel, cache, power management...) is
skipped without being looked at.
"""

from __future__ import annotations

from lxml import etree

from nova_hwabi import values
from nova_hwabi.capabilities import xml
from nova_hwabi.capabilities.errors import CapabilitiesError
from nova_hwabi.capabilities.model import (
    MAXPHYSADDR_MODES,
    CPUTopology,
    Guest,
    GuestDomainType,
    HostCapabilities,
    HostCPU,
    Machine,
    MaxPhysAddr,
    NUMACell,
)
from nova_hwabi.conf.capabilities import DEFAULT_MAX_XML_BYTES

_KIB_PER_UNIT = {
    "b": None, "bytes": None,
    "k": 1, "kib": 1, "kb": 1,
    "m": 1024, "mib": 1024, "mb": 1024,
    "g": 1024**2, "gib": 1024**2, "gb": 1024**2,
    "t": 1024**3, "tib": 1024**3, "tb": 1024**3,
}


def parse_host_capabilities(
    document: str | bytes, *, max_bytes: int = DEFAULT_MAX_XML_BYTES
) -> HostCapabilities:
    """Parse a ``<capabilities>`` document into :class:`HostCapabilities`.

    Raises :class:`CapabilitiesError`, and nothing else, for any input that
    is not a usable capabilities document.
    """
    root = xml.parse_document(document, "capabilities", max_bytes)
    host_element = None
    guests: list[Guest] = []
    for child in root:
        tag = child.tag
        if tag == "guest":
            guests.append(_parse_guest(child, len(guests)))
        elif tag == "host":
            if host_element is not None:
                raise CapabilitiesError(
                    "capabilities: more than one <host> element"
                )
            host_element = child
    if host_element is None:
        raise CapabilitiesError("capabilities: missing <host> element")
    uuid, cpu, cells = _parse_host(host_element)
    return HostCapabilities(
        uuid=uuid, cpu=cpu, cells=cells, guests=tuple(guests)
    )


def _parse_host(
    host: etree._Element,
) -> tuple[str | None, HostCPU, tuple[NUMACell, ...] | None]:
    uuid = None
    cpu = None
    cells = None
    for child in host:
        tag = child.tag
        if tag == "cpu":
            cpu = parse_cpu(child, "capabilities/host/cpu")
        elif tag == "uuid":
            uuid = xml.optional_text(child)
        elif tag == "topology":
            cells = _parse_numa_topology(child)
    if cpu is None:
        raise CapabilitiesError("capabilities/host: missing <cpu> element")
    return uuid, cpu, cells


def parse_cpu(cpu: etree._Element, where: str) -> HostCPU:
    """Parse a host ``<cpu>`` (capabilities) element at ``where``."""
    arch = model = vendor = topology = maxphysaddr = None
    features = set()
    for child in cpu:
        tag = child.tag
        if tag == "feature":
            if child.get("policy") != "disable":
                name = child.get("name")
                if not name:
                    raise CapabilitiesError(
                        "%s/feature: missing 'name' attribute" % where
                    )
                features.add(name)
        elif tag == "arch":
            arch = xml.required_text(child, where + "/arch")
        elif tag == "model":
            model = xml.optional_text(child)
        elif tag == "vendor":
            vendor = xml.optional_text(child)
        elif tag == "topology":
            topology = _parse_topology(child, where + "/topology")
        elif tag == "maxphysaddr":
            maxphysaddr = parse_maxphysaddr(child, where + "/maxphysaddr")
    if arch is None:
        raise CapabilitiesError("%s: missing <arch> element" % where)
    return HostCPU(
        arch=arch,
        model=model,
        vendor=vendor,
        topology=topology,
        maxphysaddr=maxphysaddr,
        features=frozenset(features),
    )


def _parse_topology(element: etree._Element, where: str) -> CPUTopology:
    get = element.get
    return CPUTopology(
        sockets=xml.parse_int(get("sockets"), where + "@sockets", minimum=1),
        dies=xml.optional_int(get("dies"), where + "@dies", minimum=1) or 1,
        clusters=xml.optional_int(
            get("clusters"), where + "@clusters", minimum=1
        ) or 1,
        cores=xml.parse_int(get("cores"), where + "@cores", minimum=1),
        threads=xml.parse_int(get("threads"), where + "@threads", minimum=1),
    )


def parse_maxphysaddr(element: etree._Element, where: str) -> MaxPhysAddr:
    """Parse a ``<maxphysaddr mode= bits= limit=>`` element at ``where``."""
    return MaxPhysAddr(
        mode=xml.one_of(element.get("mode"), where + "@mode",
                        MAXPHYSADDR_MODES),
        bits=xml.optional_int(element.get("bits"), where + "@bits",
                              minimum=1),
        limit=xml.optional_int(element.get("limit"), where + "@limit",
                               minimum=1),
    )


def _parse_numa_topology(topology: etree._Element) -> tuple[NUMACell, ...]:
    where = "capabilities/host/topology/cells/cell"
    cells = []
    for cells_element in topology.iterchildren("cells"):
        for cell in cells_element.iterchildren("cell"):
            cells.append(_parse_cell(cell, where))
    return tuple(cells)


def _parse_cell(cell: etree._Element, where: str) -> NUMACell:
    cell_id = xml.parse_int(cell.get("id"), where + "@id")
    memory = None
    cpus: list[int] = []
    for child in cell:
        tag = child.tag
        if tag == "memory":
            memory = _memory_kib(child, "%s[%d]/memory" % (where, cell_id))
        elif tag == "cpus":
            cpu_where = "%s[%d]/cpus/cpu@id" % (where, cell_id)
            cpus.extend(
                xml.parse_int(cpu.get("id"), cpu_where)
                for cpu in child.iterchildren("cpu")
            )
    return NUMACell(id=cell_id, memory_kib=memory, cpus=tuple(cpus))


def _memory_kib(element: etree._Element, where: str) -> int:
    amount = xml.parse_int(xml.optional_text(element), where)
    unit = (element.get("unit") or "KiB").lower()
    if unit not in _KIB_PER_UNIT:
        raise CapabilitiesError(
            "%s@unit: unknown memory unit %r" % (where, unit[:20])
        )
    factor = _KIB_PER_UNIT[unit]
    return amount // 1024 if factor is None else amount * factor


def _parse_guest(guest: etree._Element, index: int) -> Guest:
    where = "capabilities/guest[%d]" % index
    os_type = None
    arch_element = None
    for child in guest:
        tag = child.tag
        if tag == "arch":
            arch_element = child
        elif tag == "os_type":
            os_type = xml.required_text(child, where + "/os_type")
    if os_type is None:
        raise CapabilitiesError("%s: missing <os_type> element" % where)
    if arch_element is None:
        raise CapabilitiesError("%s: missing <arch> element" % where)
    return _parse_guest_arch(arch_element, os_type, where + "/arch")


def _parse_guest_arch(arch: etree._Element, os_type: str, where: str) -> Guest:
    name = arch.get("name")
    if not name:
        raise CapabilitiesError("%s: missing 'name' attribute" % where)
    wordsize = emulator = None
    machines: list[Machine] = []
    domain_elements = []
    for child in arch:
        tag = child.tag
        if tag == "machine":
            machines.append(_machine(child, where))
        elif tag == "domain":
            domain_elements.append(child)
        elif tag == "emulator":
            emulator = xml.optional_text(child)
        elif tag == "wordsize":
            wordsize = xml.parse_int(
                xml.optional_text(child), where + "/wordsize", minimum=1
            )
    arch_machines = tuple(machines)
    domains = tuple(
        _parse_guest_domain_type(element, emulator, arch_machines, where)
        for element in domain_elements
    )
    return Guest(
        os_type=os_type,
        arch=name,
        wordsize=wordsize,
        emulator=emulator,
        machines=arch_machines,
        domains=domains,
    )


def _parse_guest_domain_type(
    domain: etree._Element,
    arch_emulator: str | None,
    arch_machines: tuple[Machine, ...],
    where: str,
) -> GuestDomainType:
    domain_type = domain.get("type")
    if not domain_type:
        raise CapabilitiesError("%s/domain: missing 'type' attribute" % where)
    if len(domain) == 0:
        return GuestDomainType(domain_type, arch_emulator, arch_machines)
    # Older libvirt lists a domain type's own emulator and machines inside
    # its <domain> element; those replace the architecture's.
    emulator = arch_emulator
    machines = []
    for child in domain:
        if child.tag == "machine":
            machines.append(_machine(child, where + "/domain"))
        elif child.tag == "emulator":
            emulator = xml.optional_text(child) or arch_emulator
    return GuestDomainType(
        domain_type, emulator, tuple(machines) or arch_machines
    )


_new_machine = tuple.__new__
_PLAIN_DEPRECATED = (None, "yes", "no")


def _machine(machine: etree._Element, where: str) -> Machine:
    # The hot path: a multi-arch host lists hundreds of machines. Build the
    # NamedTuple directly and leave anything unusual to _checked_machine,
    # which says exactly what is wrong.
    get = machine.get
    max_cpus = get("maxCpus")
    deprecated = get("deprecated")
    text = machine.text
    if text is None:
        return _checked_machine(machine, where + "/machine")
    name = text.strip()
    cpus = None if max_cpus is None else values.parse_decimal(max_cpus)
    if (
        not name
        or (max_cpus is not None and cpus is None)
        or deprecated not in _PLAIN_DEPRECATED
    ):
        return _checked_machine(machine, where + "/machine")
    return _new_machine(
        Machine, (name, get("canonical"), cpus, deprecated == "yes")
    )


def _checked_machine(machine: etree._Element, where: str) -> Machine:
    name = machine.text
    if not name or not name.strip():
        raise CapabilitiesError("%s: expected a machine name" % where)
    get = machine.get
    return Machine(
        name.strip(),
        get("canonical"),
        xml.optional_int(get("maxCpus"), where + "@maxCpus"),
        xml.yes_no(get("deprecated"), where + "@deprecated"),
    )
