"""Trait names nova-hwabi reports and requires, as pure helpers.

Standard traits come from os-traits; our own are custom traits built with
``os_traits.normalize_name`` so they always match ``CUSTOM_[A-Z0-9_]+``.
Both the compute side (reporting) and the scheduler side (requiring) use
these functions, so the two can never disagree on a name.
"""

from __future__ import annotations

import os_traits

# os-traits ships no types: its names are Any to mypy, so each one we hand
# on is bound to a name typed str first.
ADDRESS_SPACE_EMULATED: str = os_traits.COMPUTE_ADDRESS_SPACE_EMULATED
ADDRESS_SPACE_PASSTHROUGH: str = os_traits.COMPUTE_ADDRESS_SPACE_PASSTHROUGH

BITS_TRAIT_PREFIX = "CUSTOM_HWABI_MAXPHYSADDR_BITS_"
MACHINE_TRAIT_PREFIX = "CUSTOM_HWABI_MACHINE_"
# Not under MACHINE_TRAIT_PREFIX, so that "which machine types does any
# host offer" never counts a deprecation mark as an offer.
DEPRECATED_MACHINE_TRAIT_PREFIX = "CUSTOM_HWABI_DEPRECATED_MACHINE_"
_CUSTOM_PREFIXES = (BITS_TRAIT_PREFIX, MACHINE_TRAIT_PREFIX,
                    DEPRECATED_MACHINE_TRAIT_PREFIX)


def bits_trait(bits: int) -> str:
    """The bits-ladder trait for guests needing ``bits`` address bits."""
    trait: str = os_traits.normalize_name("HWABI_MAXPHYSADDR_BITS_%d" % bits)
    return trait


def machine_type_trait(arch: str, machine: str) -> str:
    """The trait for machine type ``machine`` of guest architecture ``arch``.

    ``pc-q35-7.2`` on ``x86_64`` becomes
    ``CUSTOM_HWABI_MACHINE_X86_64_PC_Q35_7_2``.
    """
    trait: str = os_traits.normalize_name(
        "HWABI_MACHINE_%s_%s" % (arch, machine))
    return trait


def deprecated_machine_type_trait(arch: str, machine: str) -> str:
    """The trait a host reports when its QEMU marks ``machine`` deprecated.

    QEMU flags machine types it will remove; libvirt shows the flag as
    ``<machine deprecated='yes'>`` in the host capabilities (libvirt >=
    7.1). ``pc-i440fx-1.4`` on ``x86_64`` becomes
    ``CUSTOM_HWABI_DEPRECATED_MACHINE_X86_64_PC_I440FX_1_4``; the host
    still offers the type (it reports its machine-type trait too).
    """
    trait: str = os_traits.normalize_name(
        "HWABI_DEPRECATED_MACHINE_%s_%s" % (arch, machine))
    return trait


def is_owned(trait: str) -> bool:
    """True for the traits nova-hwabi reports and so may add or remove."""
    return trait in (
        ADDRESS_SPACE_EMULATED, ADDRESS_SPACE_PASSTHROUGH
    ) or trait.startswith(_CUSTOM_PREFIXES)


def is_owned_custom(trait: str) -> bool:
    """nova-hwabi's custom traits only (leaves address-space ones to Nova)."""
    return trait.startswith(_CUSTOM_PREFIXES)
