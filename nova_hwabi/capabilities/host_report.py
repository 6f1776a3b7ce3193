"""What a host offers: documents from a source, parsed into a report.

Three sources produce the same :class:`HostDocuments`: a live libvirt
connection, files saved with ``virsh``, and the shipped sample hosts. The
report is then built the same way whatever the source, which is what lets
the functional tests compare a live report with one made from files.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oslo_log import log as logging

from nova_hwabi.capabilities import connection
from nova_hwabi.capabilities.domain_caps import (
    DomainCapabilities,
    parse_domain_capabilities,
)
from nova_hwabi.capabilities.host import parse_host_capabilities
from nova_hwabi.capabilities.model import Guest, HostCapabilities
from nova_hwabi.capabilities.reported_traits import (
    HostTraits,
    TraitPolicy,
    host_traits,
)
from nova_hwabi.capabilities.samples import load_sample
from nova_hwabi.capabilities.versions import LibvirtVersion
from nova_hwabi.conf.capabilities import DEFAULT_MAX_XML_BYTES

LOG = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HostDocuments:
    """The raw documents describing one host, and where they came from."""

    source: str
    hypervisor_hostname: str | None
    libvirt_version: LibvirtVersion
    capabilities: bytes
    domain_capabilities: tuple[bytes, ...] = ()


@dataclass(frozen=True, slots=True)
class HostReport:
    """A host's parsed capabilities, Nova cpu_info and traits."""

    source: str
    hypervisor_hostname: str | None
    libvirt_version: LibvirtVersion
    capabilities: HostCapabilities
    domain_capabilities: tuple[DomainCapabilities, ...]
    traits: HostTraits

    @property
    def cpu_info(self) -> dict[str, Any]:
        """Nova's cpu_info for this host (see HostCapabilities)."""
        return self.capabilities.to_cpu_info()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view, stable across sources for the same host."""
        caps = self.capabilities
        return {
            "source": self.source,
            "hypervisor_hostname": self.hypervisor_hostname,
            "libvirt_version": str(self.libvirt_version),
            "host_uuid": caps.uuid,
            "cpu_info": self.cpu_info,
            "numa_cells": [cell._asdict() for cell in caps.cells or ()],
            "guests": [_guest_dict(guest) for guest in caps.guests],
            "domain_capabilities": [
                _domain_caps_dict(dc) for dc in self.domain_capabilities
            ],
            "traits": sorted(self.traits.traits),
            "trait_decisions": [
                {
                    "trait": decision.trait,
                    "reported": decision.reported,
                    "reason": decision.reason,
                }
                for decision in self.traits.decisions
            ],
        }


def _guest_dict(guest: Guest) -> dict[str, Any]:
    return {
        "os_type": guest.os_type,
        "arch": guest.arch,
        "domain_types": list(guest.domain_types),
        "machines": [m.name for m in guest.machines if not m.is_alias],
        # QEMU's deprecation marks (<machine deprecated='yes'>, libvirt
        # >= 7.1): types a later QEMU will drop.
        "deprecated": sorted(m.name for m in guest.machines
                             if m.deprecated and not m.is_alias),
        "aliases": {
            m.name: m.canonical for m in guest.machines if m.is_alias
        },
    }


def _domain_caps_dict(caps: DomainCapabilities) -> dict[str, Any]:
    host_model = caps.host_model
    return {
        "arch": caps.arch,
        "domain_type": caps.domain_type,
        "machine": caps.machine,
        "cpu_modes": sorted(caps.cpu_modes),
        "host_model": None if host_model is None else {
            "model": host_model.model,
            "vendor": host_model.vendor,
            "maxphysaddr": None if host_model.maxphysaddr is None
            else host_model.maxphysaddr._asdict(),
        },
        "disk_buses": list(caps.disk_buses),
        "video_models": list(caps.video_models),
        "rng_models": list(caps.rng_models),
    }


def build_report(
    documents: HostDocuments,
    policy: TraitPolicy,
    *,
    max_bytes: int = DEFAULT_MAX_XML_BYTES,
) -> HostReport:
    """Parse ``documents`` and decide the host's traits under ``policy``.

    Raises :class:`CapabilitiesError` if any document is unusable.
    """
    caps = parse_host_capabilities(
        documents.capabilities, max_bytes=max_bytes
    )
    domain_caps = tuple(
        parse_domain_capabilities(doc, max_bytes=max_bytes)
        for doc in documents.domain_capabilities
    )
    return HostReport(
        source=documents.source,
        hypervisor_hostname=documents.hypervisor_hostname,
        libvirt_version=documents.libvirt_version,
        capabilities=caps,
        domain_capabilities=domain_caps,
        traits=host_traits(caps, documents.libvirt_version, policy),
    )


def read_files(
    capabilities: Path,
    domain_capabilities: tuple[Path, ...],
    libvirt_version: LibvirtVersion,
    hypervisor_hostname: str | None = None,
) -> HostDocuments:
    """Documents saved with ``virsh capabilities`` / ``domcapabilities``.

    Raises OSError when a file cannot be read.
    """
    return HostDocuments(
        source="files",
        hypervisor_hostname=hypervisor_hostname,
        libvirt_version=libvirt_version,
        capabilities=capabilities.read_bytes(),
        domain_capabilities=tuple(p.read_bytes() for p in domain_capabilities),
    )


def read_sample(
    name: str, policy: TraitPolicy
) -> tuple[HostDocuments, TraitPolicy]:
    """A shipped sample host and ``policy`` with the sample's [libvirt].

    A sample stands for another host, so its own virt_type and cpu_mode
    replace the local ones; the [hwabi_capabilities] choices are kept.
    """
    sample = load_sample(name)
    documents = HostDocuments(
        source="sample %s" % name,
        hypervisor_hostname=sample.hypervisor_hostname,
        libvirt_version=sample.libvirt_version,
        capabilities=sample.capabilities_xml,
        domain_capabilities=tuple(
            doc for doc in (sample.domain_capabilities_xml,) if doc
        ),
    )
    return documents, dataclasses.replace(
        policy, virt_type=sample.virt_type, cpu_mode=sample.cpu_mode
    )


def read_live(uri: str, virt_type: str) -> HostDocuments:
    """Ask libvirt at ``uri`` for the host's documents.

    Domain capabilities are fetched for the host's own architecture and
    ``virt_type``; if libvirt cannot give them the report goes on without
    them and a warning says why. Raises :class:`LibvirtConnectionError`.
    """
    with connection.connected(uri) as conn:
        capabilities = conn.getCapabilities().encode("utf-8")
        version = LibvirtVersion.from_int(conn.getLibVersion())
        hostname = conn.getHostname()
        domcaps = _live_domain_capabilities(conn, virt_type)
    return HostDocuments(
        source=uri,
        hypervisor_hostname=hostname,
        libvirt_version=version,
        capabilities=capabilities,
        domain_capabilities=domcaps,
    )


def _live_domain_capabilities(conn: Any,
                              virt_type: str) -> tuple[bytes, ...]:
    libvirt = connection.import_libvirt()
    # virNodeGetInfo's first field is the host architecture, e.g. x86_64.
    arch = conn.getInfo()[0]
    try:
        document = conn.getDomainCapabilities(None, arch, None, virt_type, 0)
    except libvirt.libvirtError as exc:
        LOG.warning(
            "No domain capabilities for %s/%s: %s", arch, virt_type,
            connection.error_message(exc),
        )
        return ()
    return (document.encode("utf-8"),)
