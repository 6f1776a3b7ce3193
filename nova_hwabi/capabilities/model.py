"""Typed, immutable values parsed from libvirt's host capabilities.

Records that occur many times per document (machines, NUMA cells) are
NamedTuples because they are several times cheaper to build than frozen
dataclasses; the aggregates are frozen, slotted dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

MAXPHYSADDR_MODES = ("emulate", "passthrough")


class MaxPhysAddr(NamedTuple):
    """A ``<maxphysaddr>`` element: guest physical address width."""

    mode: str
    bits: int | None = None
    limit: int | None = None


class CPUTopology(NamedTuple):
    """A CPU ``<topology>``; dies and clusters default to 1 when absent."""

    sockets: int
    dies: int
    clusters: int
    cores: int
    threads: int


@dataclass(frozen=True, slots=True)
class HostCPU:
    """The host CPU as libvirt describes it in ``<host><cpu>``."""

    arch: str
    model: str | None
    vendor: str | None
    topology: CPUTopology | None
    maxphysaddr: MaxPhysAddr | None
    features: frozenset[str]


class NUMACell(NamedTuple):
    """One host NUMA cell: its id, memory in KiB and CPU ids."""

    id: int
    memory_kib: int | None
    cpus: tuple[int, ...]


class Machine(NamedTuple):
    """A machine type QEMU offers for a guest architecture.

    An alias (``q35``) carries the ``canonical`` versioned name it stands
    for on this host (``pc-q35-7.2``).
    """

    name: str
    canonical: str | None = None
    max_cpus: int | None = None
    deprecated: bool = False

    @property
    def is_alias(self) -> bool:
        """True for an alias such as ``q35`` or ``pc``."""
        return self.canonical is not None


class GuestDomainType(NamedTuple):
    """A domain type (``qemu``, ``kvm``) offered for a guest architecture.

    ``emulator`` and ``machines`` are resolved: the domain's own when
    libvirt lists them inside ``<domain>``, else the architecture's.
    """

    type: str
    emulator: str | None
    machines: tuple[Machine, ...]


@dataclass(frozen=True, slots=True)
class Guest:
    """One ``<guest>``: an OS type and architecture QEMU can run."""

    os_type: str
    arch: str
    wordsize: int | None
    emulator: str | None
    machines: tuple[Machine, ...]
    domains: tuple[GuestDomainType, ...]

    @property
    def domain_types(self) -> tuple[str, ...]:
        """Domain types offered for this architecture, in document order."""
        return tuple(domain.type for domain in self.domains)

    def machines_for(self, domain_type: str) -> tuple[Machine, ...]:
        """Machines usable with ``domain_type``; empty if it is not offered."""
        for domain in self.domains:
            if domain.type == domain_type:
                return domain.machines
        return ()

    def canonical_machine(
        self, name: str, domain_type: str | None = None
    ) -> str | None:
        """The versioned name ``name`` stands for here, or None if unknown.

        A versioned name maps to itself, an alias to its canonical name.
        """
        machines = (
            self.machines if domain_type is None
            else self.machines_for(domain_type)
        )
        for machine in machines:
            if machine.name == name:
                return machine.canonical or machine.name
        return None


@dataclass(frozen=True, slots=True)
class HostCapabilities:
    """A parsed ``virsh capabilities`` document."""

    uuid: str | None
    cpu: HostCPU
    # None when the document has no <host><topology>, which Nova counts as
    # one cell; an empty tuple is a topology that lists no cells.
    cells: tuple[NUMACell, ...] | None
    guests: tuple[Guest, ...]

    def guests_for(self, arch: str) -> tuple[Guest, ...]:
        """The guests for architecture ``arch`` (one per OS type)."""
        return tuple(guest for guest in self.guests if guest.arch == arch)

    def offers(self, arch: str, domain_type: str) -> bool:
        """True if a guest of ``arch`` can run with ``domain_type``."""
        return any(
            domain_type in guest.domain_types
            for guest in self.guests_for(arch)
        )

    def to_cpu_info(self) -> dict[str, Any]:
        """Nova's ``cpu_info`` for this host, ready for ``json.dumps``.

        Key for key what Nova's libvirt driver builds from the same
        document, with the features as a sorted list so the JSON string is
        stable.
        """
        cpu = self.cpu
        topology = cpu.topology
        info: dict[str, Any] = {
            "arch": cpu.arch,
            "model": cpu.model,
            "vendor": cpu.vendor,
            "topology": {
                "cells": 1 if self.cells is None else len(self.cells),
                "sockets": topology.sockets if topology else None,
                "cores": topology.cores if topology else None,
                "threads": topology.threads if topology else None,
            },
        }
        if cpu.maxphysaddr is not None:
            info["maxphysaddr"] = {
                "mode": cpu.maxphysaddr.mode,
                "bits": cpu.maxphysaddr.bits,
            }
        info["features"] = sorted(cpu.features)
        return info
