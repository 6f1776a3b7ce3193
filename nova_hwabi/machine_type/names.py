"""QEMU machine type names and versions, read and ordered.

Pure functions, no Nova import:

* :func:`parse_machine_type` reads a QEMU machine type name (``q35``,
  ``pc-q35-7.2``, ``pc-q35-rhel10.0.0``, ``pc-q35-jammy-hpb``, ``pseries``,
  ``microvm``...) into a :class:`MachineType`: its family, distribution
  variant, numeric version and flavour. Junk raises
  :class:`UnsupportedMachineType` saying what is wrong with it.
* :func:`compare_machine_types` orders two versioned types of one family
  and variant (:class:`IncomparableMachineTypesError` otherwise).

:class:`MachineTypeError` (a ``ValueError``) is the base of every error of
the machine type modules: this one, :mod:`~nova_hwabi.machine_type.updates`
(the update rules), :mod:`~nova_hwabi.machine_type.defaults` (``[libvirt]
hw_machine_type``) and :mod:`~nova_hwabi.machine_type.devices` (device
bus/model properties).

Machine types other than the five versioned families Nova knows (i440fx
``pc``, ``q35``, ``virt``, ``s390-ccw-virtio``, ``pseries``) and the
``powernv`` boards are accepted as families of their own with no version
(``microvm``, ``isapc``, ``x-remote``, ``none``, the Arm boards...): QEMU
offers hundreds of such boards and each is one fixed ABI. This module
checks the spelling of a name only: every name a host's QEMU lists
parses (Ubuntu releases newer than :data:`UBUNTU_RELEASES` included).
Which architectures can run it, from QEMU's documented lists and what hosts
report, is :mod:`nova_hwabi.machine_type.arches`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

MAX_NAME_LENGTH = 64

# Machine families this module knows by name.
I440FX = "i440fx"
Q35 = "q35"
VIRT = "virt"
S390_CCW_VIRTIO = "s390-ccw-virtio"
PSERIES = "pseries"
POWERNV = "powernv"
VERSIONED_FAMILIES = (I440FX, Q35, VIRT, S390_CCW_VIRTIO, PSERIES)

UPSTREAM = "upstream"
RHEL = "rhel"
UBUNTU = "ubuntu"
VARIANTS = (UPSTREAM, RHEL, UBUNTU)

# Name prefix of each family's versioned types, longest first so that
# "pc-i440fx-" and "pc-q35-" win over the legacy "pc-".
_PREFIXES = (
    ("s390-ccw-virtio-", S390_CCW_VIRTIO),
    ("pc-i440fx-", I440FX),
    ("pseries-", PSERIES),
    ("pc-q35-", Q35),
    ("virt-", VIRT),
)

# Unversioned names standing for the newest versioned type of a family on
# the host: (family, variant). The generic aliases resolve to whatever the
# host's QEMU build ships (pc-q35-7.2 on Debian 12, pc-q35-noble on Ubuntu
# 24.04, pc-q35-rhel9.6.0 on RHEL 9.6), so their variant is unknown (None).
# Ubuntu's own aliases resolve to Ubuntu types only.
ALIASES = {
    "pc": (I440FX, None),
    "q35": (Q35, None),
    "virt": (VIRT, None),
    "s390-ccw-virtio": (S390_CCW_VIRTIO, None),
    "pseries": (PSERIES, None),
    "powernv": (POWERNV, None),
    "ubuntu": (I440FX, UBUNTU),
    "ubuntu-q35": (Q35, UBUNTU),
}

# Ubuntu names its machine types after its releases (pc-q35-jammy); the
# codenames wrapped around the alphabet after zesty, so they are ordered by
# release number. A release not listed here (one newer than this table)
# still parses, as an Ubuntu type whose release number is unknown
# (MachineType.release): a host's QEMU may list it before nova-hwabi knows
# the release, and what a host lists is a real machine type.
UBUNTU_RELEASES = {
    "trusty": (14, 4), "utopic": (14, 10),
    "vivid": (15, 4), "wily": (15, 10),
    "xenial": (16, 4), "yakkety": (16, 10),
    "zesty": (17, 4), "artful": (17, 10),
    "bionic": (18, 4), "cosmic": (18, 10),
    "disco": (19, 4), "eoan": (19, 10),
    "focal": (20, 4), "groovy": (20, 10),
    "hirsute": (21, 4), "impish": (21, 10),
    "jammy": (22, 4), "kinetic": (22, 10),
    "lunar": (23, 4), "mantic": (23, 10),
    "noble": (24, 4), "oracular": (24, 10),
    "plucky": (25, 4), "questing": (25, 10),
    "resolute": (26, 4),
}

_UBUNTU_CODENAMES = tuple(UBUNTU_RELEASES)

# Words in the place of an Ubuntu codename that are no release: refused
# rather than read as a release nova-hwabi does not know yet.
NOT_CODENAMES = frozenset((
    "latest", "default", "current", "stable", "new", "old", "next",
    "host", "max", "base", "test", "junk", "none", "any", "auto",
))

_NUMBER = r"(?:0|[1-9][0-9]{0,3})"
_UPSTREAM_VERSION = re.compile(r"(%s(?:\.%s){1,2})" % (_NUMBER, _NUMBER))
_RHEL_VERSION = re.compile(r"rhel(%s(?:\.%s){2})" % (_NUMBER, _NUMBER))
_UBUNTU_VERSION = re.compile(r"([a-z]+)(?:-v([2-9]|[1-9][0-9]))?")
# An Ubuntu codename is one word of 3 to 12 letters (all of them so far
# are 4 to 8).
_CODENAME = re.compile(r"[a-z]{3,12}")
# The i440fx types before pc-i440fx-1.4 (pc-0.10 ... pc-1.3), also in the
# forms the qemu-kvm fork and Ubuntu kept for migrations from them:
# pc-1.0-qemu-kvm, pc-1.0-precise.
_LEGACY_PC = re.compile(r"pc-(%s\.%s)(?:-(qemu-kvm|[a-z]{3,12}))?"
                        % (_NUMBER, _NUMBER))
# Ubuntu releases before trusty, whose names only survive in those forms.
_OLD_UBUNTU = ("lucid", "maverick", "natty", "oneiric", "precise", "quantal",
               "raring", "saucy")
_POWERNV_CHIP = re.compile(r"powernv([1-9][0-9]?)")
_NAME_CHARACTERS = re.compile(r"[A-Za-z0-9._-]+")
_OTHER_NAME = re.compile(r"[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*")
# Lower-case starts of the families this module knows: upper case there is
# a typing mistake (Q35), while a few other boards are named in upper case
# by QEMU itself (sparc's SS-5 and LX, hppa's B160L).
_LOWER_CASE_STARTS = ("pc", "q35", "i440fx", "virt", "s390", "pseries",
                      "powernv", "rhel", "ubuntu", "microvm", "isapc",
                      "xen", "none")

# Flavours (suffixes that are not versions) each family and variant may
# carry: Ubuntu's host-phys-bits (-hpb) and maxcpus=1024 (-maxcpus) x86
# types, and the Spectre/Meltdown pseries types (-sxxm); Ubuntu 18.04 also
# named one pseries-bionic-2.11-sxxm.
_UBUNTU_X86_FLAVOURS = (re.compile(r"(?:-hpb)?(?:-maxcpus)?"),
                        "-hpb and -maxcpus")
_SXXM = (re.compile(r"(?:-sxxm)?"), "-sxxm")
_FLAVOURS = {
    (I440FX, UBUNTU): _UBUNTU_X86_FLAVOURS,
    (Q35, UBUNTU): _UBUNTU_X86_FLAVOURS,
    (PSERIES, UPSTREAM): _SXXM,
    (PSERIES, RHEL): _SXXM,
    (PSERIES, UBUNTU): (
        re.compile(r"(?:-%s\.%s)?(?:-sxxm)?" % (_NUMBER, _NUMBER)),
        "-X.Y and -sxxm",
    ),
}


class MachineTypeError(ValueError):
    """A machine type or device property nova-hwabi cannot accept."""


# Also the name of Nova's exception.
class UnsupportedMachineType(MachineTypeError):  # noqa: N818
    """A name that is not a QEMU machine type; the message says why."""


class IncomparableMachineTypesError(MachineTypeError):
    """Two machine types whose versions cannot be ordered."""


@dataclass(frozen=True, slots=True)
class MachineType:
    """One parsed QEMU machine type name.

    ``family`` is ``i440fx``, ``q35``, ``virt``, ``s390-ccw-virtio``,
    ``pseries``, ``powernv``, or the name itself for any other machine
    (``microvm``). ``variant`` is ``upstream``, ``rhel`` or ``ubuntu``;
    None for a generic alias (``q35``), whose versioned type depends on the
    host's QEMU build. ``version`` is a tuple of integers (``(7, 2)``,
    ``(10, 0, 0)`` for rhel10.0.0, ``(22, 4)`` for Ubuntu's jammy, with
    ``-v2`` appended as a third number), None for aliases and unversioned
    machines, and for an Ubuntu ``release`` newer than :data:`UBUNTU_RELEASES`
    (``pc-q35-stonking``: ``release`` ``stonking``, its number unknown).
    ``flavour`` is a variation that is not a version: ``hpb``,
    ``maxcpus``, ``hpb-maxcpus`` (Ubuntu), ``sxxm`` (pseries), ``power9``
    (powernv9), ``qemu-kvm`` or an Ubuntu codename (``pc-1.0-qemu-kvm``,
    ``pc-1.0-precise``); empty for most types.
    """

    name: str
    family: str
    variant: str | None
    version: tuple[int, ...] | None = None
    flavour: str = ""
    is_alias: bool = False
    release: str = ""

    @property
    def is_versioned(self) -> bool:
        """True when the name carries a version (``pc-q35-7.2``), known or
        not (``pc-q35-stonking``)."""
        return self.version is not None or bool(self.release)

    def version_text(self) -> str:
        """The version as people write it: ``7.2``, ``22.04-v2``, or ``""``.
        """
        if self.version is None:
            return ""
        if self.variant == UBUNTU:
            text = "%d.%02d" % self.version[:2]
            if len(self.version) > 2:
                text += "-v%d" % self.version[2]
            return text
        return ".".join(str(part) for part in self.version)

    def describe(self) -> str:
        """``pc-q35-7.2 (family q35, upstream 7.2)`` for messages."""
        if self.is_alias:
            detail = "alias of the newest %s type" % self.family
            if self.variant is not None:
                detail += " of %s" % self.variant
        elif self.release:
            detail = ("family %s, ubuntu release %s, newer than the "
                      "releases nova-hwabi knows" % (self.family,
                                                     self.release))
        elif self.version is None:
            detail = "family %s" % self.family
        else:
            detail = "family %s, %s %s" % (
                self.family, self.variant, self.version_text(),
            )
        if self.flavour:
            detail += ", flavour %s" % self.flavour
        return "%s (%s)" % (self.name, detail)

    def __str__(self) -> str:
        return self.name


def _unsupported(name: str, why: str) -> UnsupportedMachineType:
    return UnsupportedMachineType(
        "unsupported machine type %r: %s" % (name, why)
    )


def _expected_forms(prefix: str, alias: str | None) -> str:
    forms = "%sX.Y[.Z], %srhelX.Y.Z or %s<ubuntu release>" % (
        prefix, prefix, prefix
    )
    if alias is not None:
        forms += ", or the alias %s" % alias
    return forms


def _family_alias(family: str) -> str | None:
    for alias, (alias_family, variant) in ALIASES.items():
        if alias_family == family and variant is None:
            return alias
    return None


def _check_characters(name: Any) -> str:
    if not isinstance(name, str):
        raise UnsupportedMachineType(
            "unsupported machine type %r: expected a string, got %s"
            % (name, type(name).__name__)
        )
    if not name:
        raise UnsupportedMachineType(
            "the machine type is empty: give a QEMU machine type such as "
            "q35 or pc-q35-7.2"
        )
    if len(name) > MAX_NAME_LENGTH:
        raise UnsupportedMachineType(
            "unsupported machine type %r...: %d characters, longer than "
            "any QEMU machine type (at most %d)"
            % (name[:20], len(name), MAX_NAME_LENGTH)
        )
    if any(character.isspace() for character in name):
        raise _unsupported(name, "it contains whitespace")
    if name.lower() != name and name.lower().startswith(_LOWER_CASE_STARTS):
        raise _unsupported(
            name, "QEMU machine types are lower case (try %r)" % name.lower()
        )
    if not _NAME_CHARACTERS.fullmatch(name):
        raise _unsupported(
            name,
            "QEMU machine types consist of lower-case letters, digits, "
            "'-', '_' and '.' (a few boards, such as sparc's SS-5, also "
            "use upper-case letters)",
        )
    return name


def _parse_version(
    name: str, prefix: str, family: str,
) -> tuple[str, tuple[int, ...] | None, str, str]:
    """(variant, version, release, rest) from what follows the prefix."""
    tail = name[len(prefix):]
    if not tail:
        raise _unsupported(
            name,
            "no version after %r; expected %s"
            % (prefix, _expected_forms(prefix, _family_alias(family))),
        )
    for pattern, variant in ((_RHEL_VERSION, RHEL),
                             (_UPSTREAM_VERSION, UPSTREAM)):
        match = pattern.match(tail)
        if match and _ends_token(tail, match.end()):
            version = tuple(int(part) for part in match.group(1).split("."))
            return variant, version, "", tail[match.end():]
    ubuntu = _UBUNTU_VERSION.match(tail)
    if ubuntu and _ends_token(tail, ubuntu.end()):
        codename = ubuntu.group(1)
        if codename in UBUNTU_RELEASES:
            version = UBUNTU_RELEASES[codename]
            if ubuntu.group(2):
                version += (int(ubuntu.group(2)),)
            return UBUNTU, version, "", tail[ubuntu.end():]
        if (_CODENAME.fullmatch(codename) and codename not in NOT_CODENAMES
                and not ubuntu.group(2)):
            # A release after the newest this module knows.
            return UBUNTU, None, codename, tail[ubuntu.end():]
    raise _unsupported(
        name,
        "%r is not a version: expected X.Y or X.Y.Z (e.g. 7.2, 4.0.1), "
        "rhelX.Y.Z (e.g. rhel9.6.0) or an Ubuntu release codename "
        "(%s ... %s, or a newer one)"
        % (tail.split("-")[0], _UBUNTU_CODENAMES[0], _UBUNTU_CODENAMES[-1]),
    )


def _ends_token(text: str, end: int) -> bool:
    return end == len(text) or text[end] == "-"


def _parse_versioned(name: str, prefix: str, family: str) -> MachineType:
    variant, version, release, rest = _parse_version(name, prefix, family)
    if not rest:
        return MachineType(name, family, variant, version, release=release)
    pattern, allowed = _FLAVOURS.get((family, variant), (None, None))
    if pattern is None or not pattern.fullmatch(rest):
        if allowed is None:
            why = "%s %s types take no suffix after the version, got %r" % (
                variant, family, rest)
        else:
            why = "%s %s types take only the suffixes %s, got %r" % (
                variant, family, allowed, rest)
        if variant != UBUNTU and rest.startswith(("-hpb", "-maxcpus")):
            why += (" (-hpb and -maxcpus exist only on Ubuntu's types, "
                    "e.g. pc-q35-jammy-hpb)")
        raise _unsupported(name, why)
    return MachineType(name, family, variant, version, rest.lstrip("-"),
                       release=release)


def _parse_reserved(name: str) -> MachineType | None:
    """Names claimed by a known family, or None for any other machine."""
    for prefix, family in _PREFIXES:
        if name.startswith(prefix):
            return _parse_versioned(name, prefix, family)
    if name in ("pc-i440fx", "pc-q35"):
        raise _unsupported(
            name,
            "the versioned types need a version (%s-X.Y, e.g. %s-7.2); the "
            "alias is %s" % (name, name, "pc" if name == "pc-i440fx"
                             else "q35"),
        )
    if name.startswith("pc-"):
        legacy = _LEGACY_PC.fullmatch(name)
        suffix = legacy.group(2) if legacy else None
        if legacy and suffix in (None, "qemu-kvm", *_OLD_UBUNTU,
                                 *UBUNTU_RELEASES):
            version = tuple(int(part) for part in legacy.group(1).split("."))
            return MachineType(name, I440FX, UPSTREAM, version,
                               legacy.group(2) or "")
        raise _unsupported(
            name,
            "expected pc-i440fx-..., pc-q35-..., the old i440fx form pc-X.Y "
            "(e.g. pc-1.3, pc-1.0-qemu-kvm, pc-1.0-precise) or the alias pc",
        )
    if name.startswith(("q35-", "i440fx")):
        target = "pc-" + name
        raise _unsupported(
            name,
            "versioned %s types are named pc-%s... (did you mean %s?)"
            % ("q35" if name.startswith("q35") else "i440fx",
               "q35-" if name.startswith("q35") else "i440fx-", target),
        )
    if name.startswith("rhel"):
        # RHEL 7 shipped RHEL 6's i440fx types as rhel6.0.0 ... rhel6.6.0.
        rhel = _RHEL_VERSION.fullmatch(name)
        if rhel:
            version = tuple(int(part) for part in rhel.group(1).split("."))
            return MachineType(name, I440FX, RHEL, version)
        raise _unsupported(
            name, "RHEL's bare machine types are named rhelX.Y.Z "
            "(e.g. rhel6.6.0)",
        )
    if name.startswith(POWERNV):
        chip = _POWERNV_CHIP.fullmatch(name)
        if chip:
            return MachineType(name, POWERNV, UPSTREAM, None,
                               "power%s" % chip.group(1))
        raise _unsupported(
            name, "expected powernv or powernvN (e.g. powernv9)"
        )
    if name.startswith(UBUNTU):
        raise _unsupported(
            name, "Ubuntu's aliases are ubuntu and ubuntu-q35; its "
            "versioned types are pc-i440fx-<release> and pc-q35-<release>",
        )
    return None


def parse_machine_type(name: str) -> MachineType:
    """Parse a QEMU machine type name; :class:`UnsupportedMachineType`."""
    name = _check_characters(name)
    if name in ALIASES:
        family, variant = ALIASES[name]
        return MachineType(name, family, variant, is_alias=True)
    parsed = _parse_reserved(name)
    if parsed is not None:
        return parsed
    if not _OTHER_NAME.fullmatch(name):
        raise _unsupported(
            name,
            "QEMU machine names are letters and digits joined by single "
            "'-', '_' or '.'",
        )
    # Any other QEMU machine: one fixed ABI, its own family.
    return MachineType(name, name, UPSTREAM)


def as_machine_type(machine_type: str | MachineType) -> MachineType:
    """``machine_type`` as a :class:`MachineType`: a name is parsed
    (:class:`UnsupportedMachineType`), a parsed one is returned as is."""
    if isinstance(machine_type, MachineType):
        return machine_type
    return parse_machine_type(machine_type)


def compare_machine_types(a: str | MachineType, b: str | MachineType) -> int:
    """-1, 0 or 1 as ``a``'s version is older, equal or newer than ``b``'s.

    Only versioned types of one family and variant can be ordered (the
    flavour is not compared); anything else raises
    :class:`IncomparableMachineTypesError`.
    """
    a, b = as_machine_type(a), as_machine_type(b)
    a_version, b_version = _ordered_version(a), _ordered_version(b)
    if (a.family, a.variant) != (b.family, b.variant):
        raise IncomparableMachineTypesError(
            "%s and %s are of different families or variants; only types "
            "of one family and variant have ordered versions"
            % (a.describe(), b.describe())
        )
    return (a_version > b_version) - (a_version < b_version)


def _ordered_version(machine: MachineType) -> tuple[int, ...]:
    """``machine``'s version, or :class:`IncomparableMachineTypesError`
    when it has none that can be ordered."""
    if machine.release:
        raise IncomparableMachineTypesError(
            "%s: its order against other Ubuntu releases is unknown"
            % machine.describe()
        )
    if machine.version is None:
        raise IncomparableMachineTypesError(
            "%s has no version to compare" % machine.describe()
        )
    return machine.version
