"""Which guest architectures can run a machine type, and which cannot.

Machine types are boards of one QEMU system emulator: ``raspi3b`` exists
only in ``qemu-system-aarch64``, ``pc-q35-7.2`` only in
``qemu-system-x86_64`` / ``qemu-system-i386``. Recording ``raspi3b`` for an
x86_64 instance gives a guest that can never start. Two sources decide:

* :data:`QEMU_MACHINES`: per guest architecture (Nova's names), the
  machine types QEMU documents for its emulator (QEMU's "System Emulation"
  manual, one page per target, ``docs/system/target-*.rst``, and
  ``qemu-system-<arch> -machine help``), as glob patterns over names,
  versioned families included. Checked against the Debian 12 capture with
  every system emulator (20 guest architectures, 609 machine types:
  ``nova_hwabi/capabilities/samples/x86_64-multiarch-debian12``), which a
  test keeps true.
* What hosts report: the machine types a host's capabilities list for the
  architecture, or the opt-in ``CUSTOM_HWABI_MACHINE_<ARCH>_<MACHINE>``
  traits in Placement. A host's word wins over the table both ways: a
  board a newer QEMU adds is accepted once a host offers it.

A name found in other architectures' lists and not in this one's is
refused (:class:`MachineTypeArchError`, an update refusal ``--force``
overrides). So is a name in no list (``q53``, ``pc-q35-7.22``) that no
compute host reports offering: a board newer than the table is accepted
once a host offers it, a typo is caught. A versioned name counts as
documented only with a version QEMU's numbering can give
(:func:`qemu_numbers`).

Pure functions, no Nova import.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable

from nova_hwabi.machine_type import names
from nova_hwabi.machine_type.updates import InvalidMachineTypeUpdate

_X86 = (
    "pc", "q35", "pc-i440fx-*", "pc-q35-*", "pc-[0-9]*", "rhel[0-9]*",
    "ubuntu", "ubuntu-q35", "isapc", "microvm", "xenfv", "xenfv-*",
    "xenpv", "x-remote", "none",
)
# qemu-system-arm (also run by qemu-system-aarch64): the 32-bit boards.
_ARM = (
    "virt", "virt-*", "akita", "ast*-evb", "*-bmc", "b-l475e-iot01a",
    "bpim2u", "borzoi", "canon-a1100", "cheetah", "collie", "connex",
    "cubieboard", "emcraft-sf2", "fby35", "highbank", "imx25-pdk",
    "integratorcp", "kzm", "lm3s*", "mainstone", "mcimx*", "microbit",
    "midway", "mps2-*", "mps3-*", "musca-*", "musicpal", "n800", "n810",
    "netduino*", "npcm*", "nuri", "olimex-*", "orangepi-pc",
    "quanta-gsj", "raspi0", "raspi1ap", "raspi2b", "realview-*",
    "sabrelite", "smdkc210", "spitz", "stm32vldiscovery", "sx1", "sx1-v1",
    "terrier", "tosa", "verdex", "versatileab", "versatilepb",
    "vexpress-*", "xilinx-zynq-a9", "z2", "none",
)
# qemu-system-aarch64 adds the 64-bit boards.
_AARCH64 = (*_ARM, "sbsa-ref", "raspi3ap", "raspi3b", "raspi4b",
            "xlnx-versal-virt", "xlnx-zcu102")
_PPC = (
    "40p", "amigaone", "bamboo", "g3beige", "mac99", "mpc8544ds",
    "pegasos2", "ppce500", "ref405ep", "sam460ex", "virtex-ml507", "none",
)
_PPC64 = (*_PPC, "pseries", "pseries-*", "powernv", "powernv[0-9]*")
_S390X = ("s390-ccw-virtio", "s390-ccw-virtio-*", "none")
_RISCV = ("virt", "spike", "sifive_e", "sifive_u", "none")
_MIPS = ("malta", "mipssim", "none")
_MIPS64 = (*_MIPS, "fuloong2e", "boston", "loongson3-virt", "magnum",
           "pica61")
_XTENSA = ("kc705", "kc705-nommu", "lx200", "lx200-nommu", "lx60",
           "lx60-nommu", "ml605", "ml605-nommu", "sim", "virt", "none")

# Nova's architecture name -> QEMU's machine types for it (glob patterns).
QEMU_MACHINES: dict[str, tuple[str, ...]] = {
    "x86_64": _X86,
    "i686": _X86,
    "aarch64": _AARCH64,
    "armv6": _ARM,
    "armv6l": _ARM,
    "armv7l": _ARM,
    "armv7b": _ARM,
    "ppc": _PPC,
    "ppcle": _PPC,
    "ppcemb": _PPC,
    "ppc64": _PPC64,
    "ppc64le": _PPC64,
    "s390": _S390X,
    "s390x": _S390X,
    "riscv32": (*_RISCV, "opentitan"),
    "riscv64": (*_RISCV, "microchip-icicle-kit", "shakti_c"),
    "mips": _MIPS,
    "mipsel": _MIPS,
    "mips64": _MIPS64,
    "mips64el": _MIPS64,
    # m68k's virt is versioned from 6.0 on.
    "m68k": ("an5206", "mcf5208evb", "next-cube", "q800", "virt",
             "virt-[6-9].*", "virt-[1-9][0-9].*", "none"),
    "alpha": ("clipper", "none"),
    "cris": ("axis-dev88", "none"),
    "microblaze": ("petalogix-ml605", "petalogix-s3adsp1800",
                   "xlnx-zynqmp-pmu", "none"),
    "microblazeel": ("petalogix-ml605", "petalogix-s3adsp1800",
                     "xlnx-zynqmp-pmu", "none"),
    "sh4": ("r2d", "shix", "none"),
    "sh4eb": ("r2d", "shix", "none"),
    "sparc": ("SS-*", "LX", "SPARCClassic", "SPARCbook", "Voyager",
              "leon3_generic", "none"),
    "sparc64": ("sun4u", "sun4v", "niagara", "none"),
    "parisc": ("B160L", "C3700", "none"),
    "parisc64": ("B160L", "C3700", "none"),
    "xtensa": _XTENSA,
    "xtensaeb": _XTENSA,
}


class MachineTypeArchError(InvalidMachineTypeUpdate):
    """A machine type the instance's architecture cannot run.

    An update refusal: ``--force`` overrides it where the update rules
    allow (the operator may know of a host the sources do not).
    """


# The highest minor version QEMU gave per major version. Since 3.0 (2018)
# the major version is bumped by the first release of each year and the
# minor counts that year's feature releases, 0 to 2 (QEMU's "Release
# process" page and its release history); before that 0.10-0.15, 1.0-1.7
# and 2.0-2.12. Machine types are versioned by the release adding them.
_LAST_MINOR = {0: 15, 1: 7, 2: 12}
_LAST_MINOR_SINCE_3 = 2


def qemu_numbers(machine_type: str) -> bool:
    """False when ``machine_type`` is an upstream versioned name whose
    version no QEMU release has or will have (``pc-q35-7.22``, ``virt-8.3``);
    True otherwise (unversioned, distribution variants, junk: decided
    elsewhere)."""
    try:
        parsed = names.parse_machine_type(machine_type)
    except names.MachineTypeError:
        return True
    if parsed.variant != names.UPSTREAM or not parsed.version \
            or len(parsed.version) < 2:
        return True
    major, minor = parsed.version[:2]
    return minor <= _LAST_MINOR.get(major, _LAST_MINOR_SINCE_3)


def documented_arches(machine_type: str) -> tuple[str, ...]:
    """Nova architectures whose QEMU documents ``machine_type``, sorted;
    empty for a versioned name QEMU's numbering cannot give
    (:func:`qemu_numbers`)."""
    if not qemu_numbers(machine_type):
        return ()
    return tuple(sorted(
        arch for arch, patterns in QEMU_MACHINES.items()
        if _matches(machine_type, patterns)
    ))


def _matches(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def check_machine_type_arch(
    machine_type: str,
    arch: str,
    offered: Iterable[str] | None = None,
) -> str:
    """Check that ``arch`` guests can run ``machine_type``; return why.

    ``offered`` is what hosts report for ``arch`` (machine names from
    their capabilities, or from the machine-type traits in Placement:
    :func:`offered_from_traits`), None when no host reports its ``arch``
    machine types or Placement was not asked (then only the documented
    lists decide).
    Returns a short line saying what decided. Raises
    :class:`MachineTypeArchError` when no host offers it and either hosts
    report for ``arch`` and none offers it, or only other architectures
    document it, or no architecture's list has it (a typo such as ``q53``
    or ``pc-q35-7.22``, or a board newer than the lists: ``--force``).
    """
    offered = None if offered is None else set(offered)
    if offered is not None and machine_type in offered:
        return "offered by a compute host for %s" % arch
    documented = documented_arches(machine_type)
    if arch in documented:
        if offered is not None:
            raise _arch_error(
                machine_type, arch,
                "no compute host reporting its %s machine types offers it "
                "(their QEMU may be too old or too new)" % arch)
        return "documented by QEMU for %s" % arch
    if documented:
        raise _arch_error(
            machine_type, arch,
            "it is a machine of %s (QEMU's documented boards), not of %s"
            "; %s guests run %s"
            % (", ".join(documented), arch, arch, _examples(arch)))
    raise _arch_error(
        machine_type, arch,
        "it is in none of QEMU's documented machine lists for %s and no "
        "compute host reports offering it; check the spelling (%s guests "
        "run %s)" % (arch, arch, _examples(arch)))


def _examples(arch: str) -> str:
    patterns = QEMU_MACHINES.get(arch)
    if not patterns:
        return "the machine types their hosts list"
    shown = [pattern for pattern in patterns if pattern != "none"][:6]
    return ", ".join(shown) + (", ..." if len(patterns) > 7 else "")


def _arch_error(machine_type: str, arch: str,
                why: str) -> MachineTypeArchError:
    return MachineTypeArchError(
        "refusing machine type %s for this %s instance: %s; use --force "
        "only if a host with that QEMU will run it" % (machine_type, arch,
                                                       why))


def offered_from_traits(traits: Iterable[str], arch: str,
                        candidates: Iterable[str]) -> set[str] | None:
    """Which ``candidates`` the machine-type traits say hosts offer.

    ``traits`` are the ``CUSTOM_HWABI_MACHINE_*`` traits some provider
    carries; None when none is for ``arch`` (hosts do not report that
    architecture's machine types, so the traits say nothing).
    """
    from nova_hwabi import traits as trait_names

    carried = set(traits)
    prefix = trait_names.machine_type_trait(arch, "")
    if not any(trait.startswith(prefix) for trait in carried):
        return None
    return {name for name in candidates
            if trait_names.machine_type_trait(arch, name) in carried}
