"""The traits a host reports, decided from its capabilities, with reasons.

What goes on the compute node's resource provider (:func:`host_traits`
under a :class:`TraitPolicy`); the trait names themselves are
:mod:`nova_hwabi.traits`.

The address-space traits are reported only when a guest asking for them
can really start on the host, which is stricter than upstream Nova (it
reports both from the libvirt version alone).
"""

from __future__ import annotations

from dataclasses import dataclass

from oslo_config import cfg

from nova_hwabi import traits
from nova_hwabi.capabilities.model import HostCapabilities
from nova_hwabi.capabilities.versions import MIN_MAXPHYSADDR, LibvirtVersion
from nova_hwabi.conf import libvirt as libvirt_opts
from nova_hwabi.conf.capabilities import MAX_BITS

# QEMU implements phys-bits / host-phys-bits as x86 CPU properties only.
X86_ARCHES = ("i686", "x86_64")
QEMU_DOMAIN_TYPES = ("qemu", "kvm")


@dataclass(frozen=True, slots=True)
class TraitPolicy:
    """The configuration that decides which traits a host reports."""

    virt_type: str = "kvm"
    cpu_mode: str = "host-model"
    report_bits_ladder: bool = False
    bits_ladder_min: int = 32
    report_machine_type_traits: bool = False
    machine_type_trait_arches: tuple[str, ...] = ()

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> TraitPolicy:
        """Read the policy from ``[libvirt]`` and ``[hwabi_capabilities]``."""
        group = conf.hwabi_capabilities
        return cls(
            virt_type=conf.libvirt.virt_type,
            cpu_mode=libvirt_opts.effective_cpu_mode(conf),
            report_bits_ladder=group.report_bits_ladder,
            bits_ladder_min=group.bits_ladder_min,
            report_machine_type_traits=group.report_machine_type_traits,
            machine_type_trait_arches=tuple(group.machine_type_trait_arches),
        )


@dataclass(frozen=True, slots=True)
class TraitDecision:
    """Whether one trait (or family of traits) is reported, and why.

    ``traits`` holds what the decision yields: the trait itself, or every
    member of a family (bits ladder, machine types); empty when not
    reported.
    """

    trait: str
    reason: str
    traits: frozenset[str] = frozenset()

    @property
    def reported(self) -> bool:
        """True when the decision yields at least one trait."""
        return bool(self.traits)


@dataclass(frozen=True, slots=True)
class HostTraits:
    """The traits a host reports, with a decision per trait family."""

    traits: frozenset[str]
    decisions: tuple[TraitDecision, ...]


def host_traits(
    caps: HostCapabilities, version: LibvirtVersion, policy: TraitPolicy
) -> HostTraits:
    """Decide the traits ``caps`` supports under ``policy``."""
    emulated = _emulated_decision(caps, version, policy)
    decisions = [
        emulated,
        _passthrough_decision(caps, version, policy),
        _ladder_decision(caps, emulated, policy),
        _machine_type_decision(caps, policy),
        _deprecated_machine_type_decision(caps, policy),
    ]
    reported = frozenset().union(*(d.traits for d in decisions))
    return HostTraits(reported, tuple(decisions))


def _address_space_blocker(
    caps: HostCapabilities, version: LibvirtVersion, policy: TraitPolicy
) -> str | None:
    """Why no maxphysaddr mode can work on this host, or None."""
    arch = caps.cpu.arch
    if version < MIN_MAXPHYSADDR:
        return "libvirt %s is older than %s" % (version, MIN_MAXPHYSADDR)
    if arch not in X86_ARCHES:
        return "host arch %s: QEMU sets address bits on x86 only" % arch
    if policy.virt_type not in QEMU_DOMAIN_TYPES:
        return "[libvirt] virt_type %s is not QEMU/KVM" % policy.virt_type
    if not caps.offers(arch, policy.virt_type):
        return "capabilities offer no %s guest of arch %s" % (
            policy.virt_type, arch,
        )
    return None


def _emulated_decision(caps: HostCapabilities, version: LibvirtVersion,
                       policy: TraitPolicy) -> TraitDecision:
    name = traits.ADDRESS_SPACE_EMULATED
    blocker = _address_space_blocker(caps, version, policy)
    if blocker:
        return TraitDecision(name, blocker)
    bits = caps.cpu.maxphysaddr.bits if caps.cpu.maxphysaddr else None
    if not bits:
        return TraitDecision(
            name, "host CPU reports no maxphysaddr bits"
        )
    return TraitDecision(
        name, "libvirt %s, %s, host has %d address bits" % (
            version, policy.virt_type, bits,
        ),
        frozenset({name}),
    )


def _passthrough_decision(caps: HostCapabilities, version: LibvirtVersion,
                          policy: TraitPolicy) -> TraitDecision:
    name = traits.ADDRESS_SPACE_PASSTHROUGH
    blocker = _address_space_blocker(caps, version, policy)
    if blocker:
        return TraitDecision(name, blocker)
    if policy.virt_type != "kvm":
        return TraitDecision(
            name, "passthrough needs KVM, [libvirt] virt_type is %s"
            % policy.virt_type,
        )
    if policy.cpu_mode != "host-passthrough":
        return TraitDecision(
            name, "passthrough needs [libvirt] cpu_mode = "
            "host-passthrough, it is %s" % policy.cpu_mode,
        )
    return TraitDecision(
        name, "libvirt %s, kvm, cpu_mode host-passthrough" % (version,),
        frozenset({name}),
    )


def _ladder_bits(caps: HostCapabilities, policy: TraitPolicy) -> range:
    bits = caps.cpu.maxphysaddr.bits if caps.cpu.maxphysaddr else 0
    return range(policy.bits_ladder_min, min(bits or 0, MAX_BITS) + 1)


def _ladder_decision(caps: HostCapabilities, emulated: TraitDecision,
                     policy: TraitPolicy) -> TraitDecision:
    name = traits.BITS_TRAIT_PREFIX + "<N>"
    if not policy.report_bits_ladder:
        return TraitDecision(
            name, "[hwabi_capabilities] report_bits_ladder is off"
        )
    if not emulated.reported:
        return TraitDecision(name, "no emulated address space")
    widths = _ladder_bits(caps, policy)
    if not widths:
        return TraitDecision(
            name, "host bits are below bits_ladder_min %d"
            % policy.bits_ladder_min,
        )
    return TraitDecision(
        name, "%d widths, %d to %d bits" % (
            len(widths), widths[0], widths[-1],
        ),
        frozenset(traits.bits_trait(bits) for bits in widths),
    )


def _machine_type_arches(caps: HostCapabilities,
                         policy: TraitPolicy) -> tuple[str, ...]:
    return policy.machine_type_trait_arches or (caps.cpu.arch,)


def _machine_type_names(caps: HostCapabilities, policy: TraitPolicy,
                        deprecated_only: bool = False) -> set[tuple[str, str]]:
    names: set[tuple[str, str]] = set()
    for arch in _machine_type_arches(caps, policy):
        for guest in caps.guests_for(arch):
            for machine in guest.machines_for(policy.virt_type):
                if machine.deprecated or not deprecated_only:
                    names.add((arch, machine.name))
    return names


def _machine_type_decision(caps: HostCapabilities,
                           policy: TraitPolicy) -> TraitDecision:
    name = traits.MACHINE_TRAIT_PREFIX + "<ARCH>_<MACHINE>"
    if not policy.report_machine_type_traits:
        return TraitDecision(
            name,
            "[hwabi_capabilities] report_machine_type_traits is off",
        )
    names = _machine_type_names(caps, policy)
    arches = ", ".join(_machine_type_arches(caps, policy))
    if not names:
        return TraitDecision(
            name, "no %s machine types for %s"
            % (policy.virt_type, arches),
        )
    return TraitDecision(
        name, "%d %s machine types for %s"
        % (len(names), policy.virt_type, arches),
        frozenset(
            traits.machine_type_trait(arch, machine)
            for arch, machine in names
        ),
    )


def _deprecated_machine_type_decision(caps: HostCapabilities,
                                      policy: TraitPolicy) -> TraitDecision:
    """The machine types this host's QEMU marks deprecated, as traits.

    Reported with the machine-type traits (same opt-in), so the upgrade
    check can name instances pinned to a type a host will lose.
    """
    name = traits.DEPRECATED_MACHINE_TRAIT_PREFIX + "<ARCH>_<MACHINE>"
    if not policy.report_machine_type_traits:
        return TraitDecision(
            name,
            "[hwabi_capabilities] report_machine_type_traits is off",
        )
    names = _machine_type_names(caps, policy, deprecated_only=True)
    arches = ", ".join(_machine_type_arches(caps, policy))
    if not names:
        return TraitDecision(
            name, "no deprecated %s machine types for %s (libvirt >= 7.1 "
            "shows QEMU's deprecation marks)" % (policy.virt_type, arches),
        )
    return TraitDecision(
        name, "%d deprecated %s machine types for %s"
        % (len(names), policy.virt_type, arches),
        frozenset(
            traits.deprecated_machine_type_trait(arch, machine)
            for arch, machine in names
        ),
    )
