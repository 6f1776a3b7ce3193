"""A small fleet from the shipped sample hosts, as Placement and Nova see it.

Each sample becomes a compute node resource provider (inventory from its
NUMA cells) with the traits nova-hwabi reports for it, and a Nova
HostState (cpu_info and supported instances from its capabilities).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nova_hwabi.capabilities import host_report
from nova_hwabi.capabilities.model import HostCapabilities
from nova_hwabi.capabilities.reported_traits import TraitPolicy
from nova_hwabi.capabilities.samples import sample_names
from nova_hwabi.testing import inprocess

DISK_GB = 2000
DEFAULT_MEMORY_MB = 65536


@dataclass(frozen=True)
class FleetHost:
    """One sample host: its report, inventory and Nova HostState."""

    name: str
    sample: str
    cpu_mode: str
    report: host_report.HostReport
    inventory: dict[str, int]
    host_state: Any  # Nova's HostState

    @property
    def bits(self) -> int | None:
        """maxphysaddr bits, None when the host reports none."""
        maxphysaddr = self.report.capabilities.cpu.maxphysaddr
        return None if maxphysaddr is None else maxphysaddr.bits


def inventory(caps: HostCapabilities) -> dict[str, int]:
    """VCPU and MEMORY_MB from the NUMA cells, plus a fixed disk."""
    cells = caps.cells or ()
    vcpus = sum(len(cell.cpus) for cell in cells)
    if not vcpus and caps.cpu.topology:
        topology = caps.cpu.topology
        vcpus = (topology.sockets * topology.dies * topology.clusters
                 * topology.cores * topology.threads)
    memory_mb = sum((cell.memory_kib or 0) for cell in cells) // 1024
    return {"VCPU": vcpus or 1, "MEMORY_MB": memory_mb or DEFAULT_MEMORY_MB,
            "DISK_GB": DISK_GB}


def _supported_instances(
        caps: HostCapabilities) -> list[tuple[str, str, str]]:
    # As Nova's libvirt driver: guests of architectures, hypervisor types
    # or VM modes Nova does not know (armv6l, sh4...) are left out.
    from nova import exception
    from nova.objects import fields

    supported: set[tuple[str, str, str]] = set()
    for guest in caps.guests:
        for domain_type in guest.domain_types:
            try:
                supported.add((
                    fields.Architecture.canonicalize(guest.arch),
                    fields.HVType.canonicalize(domain_type),
                    fields.VMMode.canonicalize(guest.os_type),
                ))
            except exception.InvalidArchitectureName:
                continue
    return sorted(supported)


def build_fleet(policy: TraitPolicy) -> list[FleetHost]:
    """Every shipped sample host, with ``policy``'s trait families.

    Each sample keeps its own [libvirt] virt_type and cpu_mode.
    """
    fleet = []
    for index, name in enumerate(sample_names()):
        documents, sample_policy = host_report.read_sample(name, policy)
        report = host_report.build_report(documents, sample_policy)
        caps = report.capabilities
        # Every shipped sample names its host; the sample's name otherwise.
        hostname = report.hypervisor_hostname or name
        node = inprocess.compute_node(
            index, report.cpu_info, arch=caps.cpu.arch,
            supported=_supported_instances(caps),
            hypervisor_version=_version_number(report),
            name=hostname,
        )
        fleet.append(FleetHost(
            name=hostname, sample=name,
            cpu_mode=sample_policy.cpu_mode, report=report,
            inventory=inventory(caps),
            host_state=inprocess.host_state(node),
        ))
    return fleet


def _version_number(report: host_report.HostReport) -> int:
    major, minor, micro = report.libvirt_version
    return major * 1000000 + minor * 1000 + micro
