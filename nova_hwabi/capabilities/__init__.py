"""libvirt XML in, Nova's cpu_info and host traits out.

Public API::

    parse_host_capabilities(xml) -> HostCapabilities    # virsh capabilities
    parse_domain_capabilities(xml) -> DomainCapabilities  # domcapabilities
    parse_guest_domain(xml) -> GuestDomain                # virsh dumpxml
    HostCapabilities.to_cpu_info() -> dict                # Nova's cpu_info
    host_traits(caps, version, policy) -> HostTraits
    CapabilitiesError                                     # any bad input

Every parser accepts ``str`` or ``bytes`` and raises only
:class:`CapabilitiesError` for input it cannot use.
"""

from nova_hwabi.capabilities.domain_caps import (
    DeviceSupport,
    DomainCapabilities,
    HostModelCPU,
    parse_domain_capabilities,
)
from nova_hwabi.capabilities.errors import (
    CapabilitiesError,
    LibvirtConnectionError,
    UnknownSampleError,
)
from nova_hwabi.capabilities.guest import GuestDomain, parse_guest_domain
from nova_hwabi.capabilities.host import parse_host_capabilities
from nova_hwabi.capabilities.model import (
    CPUTopology,
    Guest,
    GuestDomainType,
    HostCapabilities,
    HostCPU,
    Machine,
    MaxPhysAddr,
    NUMACell,
)
from nova_hwabi.capabilities.reported_traits import (
    HostTraits,
    TraitDecision,
    TraitPolicy,
    host_traits,
)
from nova_hwabi.capabilities.versions import LibvirtVersion

__all__ = [
    "CPUTopology",
    "CapabilitiesError",
    "DeviceSupport",
    "DomainCapabilities",
    "Guest",
    "GuestDomain",
    "GuestDomainType",
    "HostCPU",
    "HostCapabilities",
    "HostModelCPU",
    "HostTraits",
    "LibvirtConnectionError",
    "LibvirtVersion",
    "Machine",
    "MaxPhysAddr",
    "NUMACell",
    "TraitDecision",
    "TraitPolicy",
    "UnknownSampleError",
    "host_traits",
    "parse_domain_capabilities",
    "parse_guest_domain",
    "parse_host_capabilities",
]
