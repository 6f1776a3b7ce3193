"""Machine types and device buses/models: parsing and the update rules.

Pure functions, no Nova import:

* :func:`parse_machine_type` reads a QEMU machine type name (``q35``,
  ``pc-q35-7.2``, ``pc-q35-rhel10.0.0``, ``pc-q35-jammy-hpb``, ``pseries``,
  ``microvm``...) into a :class:`MachineType`: its family, distribution
  variant, numeric version and flavour. Junk raises
  :class:`UnsupportedMachineType` saying what is wrong with it.
* :func:`check_update` decides whether an instance's recorded machine type
  may change to another without ``--force``.
* :func:`default_machine_type` is the machine type Nova's libvirt driver
  gives an instance that asks for none: ``[libvirt] hw_machine_type``,
  checked entry by entry, then Nova's built-in defaults.
* :func:`validate_image_property` checks one of the ten device bus/model
  image properties an admin may change on an instance, against Nova's
  enumerations and against what the machine type can have.

Every exception is a :class:`MachineTypeError` (a ``ValueError``).

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
from collections.abc import Iterable
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

# Architecture names of Nova (nova.objects.fields.Architecture), the
# keys [libvirt] hw_machine_type may use.
ARCHITECTURES = (
    "alpha", "armv6", "armv7l", "armv7b", "aarch64", "cris", "i686", "ia64",
    "lm32", "m68k", "microblaze", "microblazeel", "mips", "mipsel",
    "mips64", "mips64el", "openrisc", "parisc", "parisc64", "ppc", "ppcle",
    "ppc64", "ppc64le", "ppcemb", "s390", "s390x", "sh4", "sh4eb", "sparc",
    "sparc64", "unicore32", "x86_64", "xtensa", "xtensaeb",
)

# Common spellings of architectures Nova does not use as keys.
_ARCH_HINTS = {
    "amd64": "x86_64", "x86-64": "x86_64", "x64": "x86_64",
    "i386": "i686", "x86": "i686", "arm64": "aarch64",
    "ppc64el": "ppc64le", "armhf": "armv7l",
}

# Nova's built-in defaults (nova.virt.libvirt.utils.
# get_default_machine_type). Nova also defaults ppc64le to pseries,
# which the Wallaby-era documentation does not list.
NOVA_DEFAULT_MACHINE_TYPES = {
    "armv7l": "virt",
    "aarch64": "virt",
    "ppc64le": "pseries",
    "s390": "s390-ccw-virtio",
    "s390x": "s390-ccw-virtio",
    "i686": "pc",
    "x86_64": "pc",
}

# The versioned families each well-known architecture can run: a
# [libvirt] hw_machine_type entry pairing one of these architectures with
# another of these families cannot start a guest.
_ARCH_FAMILIES = {
    "i686": (I440FX, Q35),
    "x86_64": (I440FX, Q35),
    "armv7l": (VIRT,),
    "aarch64": (VIRT,),
    "s390": (S390_CCW_VIRTIO,),
    "s390x": (S390_CCW_VIRTIO,),
    "ppc64": (PSERIES, POWERNV),
    "ppc64le": (PSERIES, POWERNV),
}

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

_FORCE_HINT = (
    "; changing it would change the guest's virtual hardware (its ABI) at "
    "its next start: rebuild the instance instead, or repeat the command "
    "with --force if you accept that risk"
)


class MachineTypeError(ValueError):
    """A machine type or device property nova-hwabi cannot accept."""


# The issue names these four; UnsupportedMachineType and
# InvalidMachineTypeUpdate are also the names of Nova's exceptions.


class UnsupportedMachineType(MachineTypeError):  # noqa: N818
    """A name that is not a QEMU machine type; the message says why."""


class IncomparableMachineTypesError(MachineTypeError):
    """Two machine types whose versions cannot be ordered."""


class InvalidMachineTypeUpdate(MachineTypeError):  # noqa: N818
    """A change of an instance's machine type that needs ``--force``."""


class InvalidMachineTypeConfig(MachineTypeError):  # noqa: N818
    """A malformed ``[libvirt] hw_machine_type`` entry."""


class InvalidImageProperty(MachineTypeError):  # noqa: N818
    """A device bus/model image property or value that cannot be set.

    ``kind`` is ``"name"`` when the property itself cannot be set and
    ``"value"`` when the value is wrong for it or for the machine type.
    """

    def __init__(self, message: str, kind: str = "value") -> None:
        super().__init__(message)
        self.kind = kind


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


def _parse_version(name: str, prefix: str, family: str):
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


def _coerce(machine_type: str | MachineType) -> MachineType:
    if isinstance(machine_type, MachineType):
        return machine_type
    return parse_machine_type(machine_type)


def compare_machine_types(a: str | MachineType, b: str | MachineType) -> int:
    """-1, 0 or 1 as ``a``'s version is older, equal or newer than ``b``'s.

    Only versioned types of one family and variant can be ordered (the
    flavour is not compared); anything else raises
    :class:`IncomparableMachineTypesError`.
    """
    a, b = _coerce(a), _coerce(b)
    for machine in (a, b):
        if machine.release:
            raise IncomparableMachineTypesError(
                "%s: its order against other Ubuntu releases is unknown"
                % machine.describe()
            )
        if machine.version is None:
            raise IncomparableMachineTypesError(
                "%s has no version to compare" % machine.describe()
            )
    if (a.family, a.variant) != (b.family, b.variant):
        raise IncomparableMachineTypesError(
            "%s and %s are of different families or variants; only types "
            "of one family and variant have ordered versions"
            % (a.describe(), b.describe())
        )
    return (a.version > b.version) - (a.version < b.version)


def _refuse(existing: MachineType, new: MachineType,
            why: str) -> InvalidMachineTypeUpdate:
    return InvalidMachineTypeUpdate(
        "refusing to change the machine type from %s to %s: %s%s"
        % (existing.name, new.name, why, _FORCE_HINT)
    )


def _check_from_alias(existing: MachineType, new: MachineType) -> None:
    if new.is_alias:
        raise _refuse(
            existing, new,
            "both are aliases, which the host may resolve to different "
            "versioned types",
        )
    if existing.variant is not None and existing.variant != new.variant:
        raise _refuse(
            existing, new,
            "the alias %s resolves to %s types only, %s is %s"
            % (existing.name, existing.variant, new.name, new.variant),
        )


def _check_between_pinned(existing: MachineType,
                          new: MachineType) -> None:
    if existing.variant != new.variant:
        raise _refuse(
            existing, new,
            "it changes the distribution variant from %s to %s; each "
            "distribution's types have their own ABI"
            % (existing.variant, new.variant),
        )
    if existing.flavour != new.flavour:
        raise _refuse(
            existing, new,
            "it changes the flavour from %s to %s"
            % (existing.flavour or "none", new.flavour or "none"),
        )
    if existing.release or new.release:
        unknown = existing if existing.release else new
        raise _refuse(
            existing, new,
            "Ubuntu release %s is newer than the releases nova-hwabi knows, "
            "so whether this is an upgrade cannot be told" % unknown.release,
        )
    if (existing.version is not None and new.version is not None
            and new.version < existing.version):
        raise _refuse(
            existing, new,
            "it is a downgrade (%s is older than %s); machine types are "
            "only compatible forwards" % (new.name, existing.name),
        )


def check_update(
    existing: str | MachineType | None, new: str | MachineType
) -> MachineType:
    """Check that an instance's machine type may become ``new``.

    ``existing`` is the recorded machine type, None (or empty) when none
    is recorded (any valid ``new`` is then fine). Allowed: no change, an
    upgrade within one family, variant and flavour, and pinning an alias
    to a versioned type of its family (``q35`` -> ``pc-q35-7.2``). Refused with
    :class:`InvalidMachineTypeUpdate`: another family, variant or flavour,
    a downgrade, unpinning (versioned -> alias), one alias to another, or a
    recorded type that cannot be parsed. A ``new`` that is no machine type
    at all raises :class:`UnsupportedMachineType`, which ``--force`` must
    not override. Returns the parsed ``new``.
    """
    new = _coerce(new)
    if existing is None or existing == "":
        return new
    try:
        existing = _coerce(existing)
    except UnsupportedMachineType as exc:
        raise InvalidMachineTypeUpdate(
            "the recorded machine type cannot be checked against %s (%s)%s"
            % (new.name, exc, _FORCE_HINT)
        ) from exc
    if existing.name == new.name:
        return new
    if existing.family != new.family:
        raise _refuse(
            existing, new,
            "it changes the machine family from %s to %s"
            % (existing.family, new.family),
        )
    if existing.is_alias:
        _check_from_alias(existing, new)
        return new
    if new.is_alias:
        raise _refuse(
            existing, new,
            "it unpins the instance: the alias %s stands for whichever %s "
            "type the host's QEMU offers as newest, not for %s"
            % (new.name, new.family, existing.name),
        )
    _check_between_pinned(existing, new)
    return new


def _config_error(entry: str, why: str) -> InvalidMachineTypeConfig:
    return InvalidMachineTypeConfig(
        "[libvirt] hw_machine_type entry %r: %s; expected a comma-separated "
        "list of ARCH=MACHINE_TYPE, e.g. x86_64=q35,aarch64=virt"
        % (entry, why)
    )


def _parse_config_entry(entry: Any) -> tuple[str, MachineType]:
    if not isinstance(entry, str):
        raise _config_error(str(entry), "not a string")
    if not entry:
        raise _config_error(entry, "empty entry (a stray comma?)")
    if "=" not in entry:
        raise _config_error(entry, "no architecture")
    arch, _, value = entry.partition("=")
    if arch != arch.strip() or value != value.strip():
        raise _config_error(
            entry,
            "spaces around '=' (Nova would read the architecture as %r and "
            "ignore the entry)" % arch,
        )
    if not arch:
        raise _config_error(entry, "no architecture before '='")
    if arch not in ARCHITECTURES:
        hint = _ARCH_HINTS.get(arch)
        raise _config_error(
            entry,
            "unknown architecture %r%s" % (
                arch,
                " (Nova calls it %s)" % hint if hint else
                "; Nova's are %s" % ", ".join(ARCHITECTURES),
            ),
        )
    if not value:
        raise _config_error(entry, "no machine type after '='")
    try:
        machine_type = parse_machine_type(value)
    except UnsupportedMachineType as exc:
        raise _config_error(entry, str(exc)) from exc
    families = _ARCH_FAMILIES.get(arch)
    known = (*VERSIONED_FAMILIES, POWERNV)
    if (families is not None and machine_type.family in known
            and machine_type.family not in families):
        raise _config_error(
            entry,
            "%s belongs to the %s family, which %s guests cannot run "
            "(they run %s)"
            % (value, machine_type.family, arch, " or ".join(families)),
        )
    # Boards outside the versioned families (raspi3b, SS-5...): QEMU's
    # documented per-architecture lists say which guests can run them.
    from nova_hwabi.machine_type import arches  # it imports this module

    documented = arches.documented_arches(value)
    if documented and arch not in documented:
        raise _config_error(
            entry,
            "%s is a machine of %s (QEMU's documented boards), not of %s"
            % (value, ", ".join(documented), arch),
        )
    return arch, machine_type


def parse_machine_type_config(
    entries: Iterable[str] | str | None,
) -> dict[str, MachineType]:
    """``[libvirt] hw_machine_type`` as {arch: MachineType}, every entry
    checked.

    ``entries`` is the option's list (a comma-separated string is split the
    way oslo.config does). Raises :class:`InvalidMachineTypeConfig` naming
    the first bad entry: no ``arch=``, an unknown architecture, spaces
    around ``=``, an empty or unsupported machine type, a family the
    architecture cannot run, or an architecture given twice.
    """
    if entries is None:
        return {}
    if isinstance(entries, str):
        entries = [part.strip() for part in entries.split(",")] \
            if entries.strip() else []
    mapping: dict[str, MachineType] = {}
    for entry in entries:
        arch, machine_type = _parse_config_entry(entry)
        if arch in mapping:
            raise _config_error(
                entry,
                "%s is already set to %s (Nova uses the first entry); keep "
                "one" % (arch, mapping[arch].name),
            )
        mapping[arch] = machine_type
    return mapping


def configured_arches(conf: Any) -> tuple[str, ...]:
    """The architectures ``[libvirt] hw_machine_type`` sets, in its order.

    Checks every entry first (:class:`InvalidMachineTypeConfig`).
    """
    return tuple(parse_machine_type_config(conf.libvirt.hw_machine_type))


def default_machine_type(arch: str, conf: Any) -> str | None:
    """The machine type Nova gives an ``arch`` guest that asks for none.

    ``conf`` is anything with ``conf.libvirt.hw_machine_type`` (an
    oslo.config ConfigOpts or a namespace). The whole option is checked,
    not only the entry for ``arch``, so a bad entry is reported on every
    host (:class:`InvalidMachineTypeConfig`). Without an entry for
    ``arch``, Nova's built-in default applies; None when it has none
    (libvirt then picks QEMU's default).
    """
    mapping = parse_machine_type_config(conf.libvirt.hw_machine_type)
    if arch in mapping:
        return mapping[arch].name
    return NOVA_DEFAULT_MACHINE_TYPES.get(arch)


# Device bus/model enumerations, as in Nova (nova/objects/fields.py
# DiskBus, InputBus, PointerModelType, RNGModel, SCSIModel, VideoModel,
# VIFModel, and nova/network/model.py VIF_MODEL_ALL). nova/objects/
# image_meta.py types hw_cdrom_bus, hw_disk_bus, hw_floppy_bus and
# hw_rescue_bus as DiskBusField and hw_rng_model as RNGModelField.
DISK_BUSES = ("fdc", "ide", "sata", "scsi", "usb", "virtio", "xen", "lxc",
              "uml")
INPUT_BUSES = ("usb", "virtio")
POINTER_MODELS = ("usbtablet",)
RNG_MODELS = ("virtio",)
SCSI_MODELS = ("buslogic", "ibmvscsi", "lsilogic", "lsisas1068",
               "lsisas1078", "virtio-scsi", "vmpvscsi")
VIDEO_MODELS = ("cirrus", "qxl", "vga", "vmvga", "xen", "virtio", "gop",
                "none", "bochs")
VIF_MODELS = ("virtio", "ne2k_pci", "pcnet", "rtl8139", "e1000", "e1000e",
              "netfront", "spapr-vlan", "lan9118", "sriov", "vmxnet",
              "vmxnet3", "igb")

# Nova's VIFModel also accepts VMware's legacy names, in any case.
_LEGACY_VIF_MODELS = {
    "virtuale1000": "e1000",
    "virtuale1000e": "e1000e",
    "virtualpcnet32": "pcnet",
    "virtualsriovethernetcard": "sriov",
    "virtualvmxnet": "vmxnet",
    "virtualvmxnet3": "vmxnet3",
}

_DISK = "disk bus"
_INPUT = "input bus"
_POINTER = "pointer model"
_RNG = "RNG model"
_SCSI = "SCSI model"
_VIDEO = "video model"
_VIF = "VIF model"

# The ten properties the device bus/model spec lets an admin change, each
# with the kind of device it sets and Nova's values for it.
DEVICE_PROPERTIES = {
    "hw_cdrom_bus": (_DISK, DISK_BUSES),
    "hw_disk_bus": (_DISK, DISK_BUSES),
    "hw_floppy_bus": (_DISK, DISK_BUSES),
    "hw_rescue_bus": (_DISK, DISK_BUSES),
    "hw_input_bus": (_INPUT, INPUT_BUSES),
    "hw_pointer_model": (_POINTER, POINTER_MODELS),
    "hw_rng_model": (_RNG, RNG_MODELS),
    "hw_scsi_model": (_SCSI, SCSI_MODELS),
    "hw_video_model": (_VIDEO, VIDEO_MODELS),
    "hw_vif_model": (_VIF, VIF_MODELS),
}


@dataclass(frozen=True, slots=True)
class _Constraint:
    """Values of one kind a set of machine families cannot have.

    ``families`` None means every QEMU machine type except
    ``except_families``.
    """

    kind: str
    values: frozenset[str]
    families: frozenset[str] | None
    reason: str
    except_families: frozenset[str] = frozenset()

    def applies_to(self, family: str) -> bool:
        if family in self.except_families:
            return False
        return self.families is None or family in self.families


def _rule(kind, values, families, reason, except_families=()):
    return _Constraint(
        kind, frozenset(values),
        None if families is None else frozenset(families), reason,
        frozenset(except_families),
    )


_NON_X86 = (VIRT, S390_CCW_VIRTIO, PSERIES, POWERNV)

# What a machine type cannot have. Only constraints that hold for every
# build of QEMU and libvirt, each with its source:
# - Nova's libvirt driver accepts only these disk buses and VIF models
#   for qemu/kvm guests (blockinfo.SUPPORTED_DEVICE_BUSES,
#   vif.SUPPORTED_VIF_MODELS); libvirt's QEMU driver refuses xen and gop
#   video and the BusLogic SCSI controller.
# - libvirt gives a guest IDE only through a machine's built-in controller
#   (i440fx has one; q35, virt, s390-ccw-virtio and pseries do not: "IDE
#   controllers are unsupported for this QEMU binary or machine type"),
#   which is why Nova puts q35 CD-ROMs on SATA.
# - A floppy needs an ISA floppy controller, which only x86 machines have
#   (libvirt adds isa-fdc to q35 itself).
# - qemu-system-s390x builds no PCI devices other than virtio: no AHCI,
#   no USB controller, no VGA-type display, no emulated NIC or SCSI HBA.
# - ibmvscsi and spapr-vlan are sPAPR VIO devices, only on pseries.
_CONSTRAINTS = (
    _rule(_DISK, ("xen", "lxc", "uml"), None,
          "Nova's libvirt driver gives QEMU/KVM guests only virtio, scsi, "
          "ide, usb, fdc or sata disks"),
    _rule(_VIF, ("netfront", "sriov", "vmxnet"), None,
          "Nova's libvirt driver does not offer this model to QEMU/KVM "
          "guests"),
    _rule(_VIDEO, ("xen", "gop"), None,
          "libvirt's QEMU driver has no such video model"),
    _rule(_SCSI, ("buslogic",), None,
          "libvirt's QEMU driver has no BusLogic controller"),
    _rule(_DISK, ("ide",), (Q35, *_NON_X86),
          "the machine has no IDE controller (libvirt offers IDE only "
          "where it is built in, as on pc/i440fx); use sata on q35, "
          "otherwise scsi or virtio"),
    _rule(_DISK, ("fdc",), _NON_X86,
          "the machine has no floppy controller (only x86 machines do)"),
    _rule(_DISK, ("sata", "usb"), (S390_CCW_VIRTIO,),
          "s390x has no AHCI or USB controller; use virtio or scsi"),
    _rule(_INPUT, ("usb",), (S390_CCW_VIRTIO,),
          "s390x has no USB controller; use virtio"),
    _rule(_POINTER, ("usbtablet",), (S390_CCW_VIRTIO,),
          "s390x has no USB controller"),
    _rule(_VIDEO, ("cirrus", "qxl", "vga", "vmvga", "bochs"),
          (S390_CCW_VIRTIO,),
          "s390x has no VGA-type display device; use virtio or none"),
    _rule(_VIF, tuple(m for m in VIF_MODELS if m != "virtio"),
          (S390_CCW_VIRTIO,),
          "s390x has only virtio network devices"),
    _rule(_SCSI, tuple(m for m in SCSI_MODELS if m != "virtio-scsi"),
          (S390_CCW_VIRTIO,),
          "s390x has only virtio-scsi controllers"),
    # The aarch64 virt domain capabilities (libvirt 9.0, QEMU 7.2; the
    # aarch64-virt sample) offer vga, virtio, bochs, ramfb and none:
    # cirrus, vmvga and qxl are x86 PC display devices.
    _rule(_VIDEO, ("cirrus", "qxl", "vmvga"), (VIRT,),
          "the virt machine's QEMU has no such display device (x86 PC "
          "devices); use virtio, vga, bochs or none"),
    _rule(_SCSI, ("ibmvscsi",), None,
          "ibmvscsi is an sPAPR VIO device, found only on pseries",
          except_families=(PSERIES,)),
    _rule(_VIF, ("spapr-vlan",), None,
          "spapr-vlan is an sPAPR VIO device, found only on pseries",
          except_families=(PSERIES,)),
)


def _refusal(kind: str, value: str,
             machine_type: MachineType) -> _Constraint | None:
    for constraint in _CONSTRAINTS:
        if (constraint.kind == kind and value in constraint.values
                and constraint.applies_to(machine_type.family)):
            return constraint
    return None


def allowed_image_property_values(
    name: str, machine_type: str | MachineType | None = None
) -> tuple[str, ...]:
    """Nova's values for device property ``name`` that ``machine_type``
    can have (all of them without a machine type)."""
    kind, values = DEVICE_PROPERTIES[check_image_property_name(name)]
    if machine_type is None:
        return values
    machine_type = _coerce(machine_type)
    return tuple(value for value in values
                 if _refusal(kind, value, machine_type) is None)


def _unknown_property(name: Any) -> InvalidImageProperty:
    if name == "hw_machine_type":
        return InvalidImageProperty(
            "hw_machine_type is not a device bus/model property: change an "
            "instance's machine type with nova-hwabi-manage machine-type "
            "update, which applies the machine type update rules", "name"
        )
    shown = name[:60] if isinstance(name, str) else name
    hint = ""
    if isinstance(name, str) and name.startswith("image_") \
            and name[len("image_"):] in DEVICE_PROPERTIES:
        hint = " (drop the image_ prefix: %s)" % name[len("image_"):]
    return InvalidImageProperty(
        "%r cannot be set on an instance%s: only the device bus/model "
        "properties %s can" % (shown, hint, ", ".join(DEVICE_PROPERTIES)),
        "name",
    )


def check_image_property_name(name: Any) -> str:
    """``name`` if it is one of the ten device bus/model properties.

    Raises :class:`InvalidImageProperty` (``kind`` ``"name"``) otherwise,
    e.g. before unsetting a property, which needs no value.
    """
    if not isinstance(name, str) or name not in DEVICE_PROPERTIES:
        raise _unknown_property(name)
    return name


def _normalise(name: str, kind: str, value: Any,
               values: tuple[str, ...]) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidImageProperty(
            "%s=%r: expected one of %s%s"
            % (name, value, ", ".join(values),
               " (to remove the property, unset it with "
               "nova-hwabi-manage image-property unset)" if value is None
               else "")
        )
    text = value.strip().lower()
    if kind == _VIF:
        text = _LEGACY_VIF_MODELS.get(text, text)
    if text not in values:
        raise InvalidImageProperty(
            "%s=%r: Nova knows no such %s; expected one of %s"
            % (name, value[:40], kind, ", ".join(values))
        )
    return text


def validate_image_property(
    name: str, value: Any, machine_type: str | MachineType | None = None
) -> str:
    """Check one device bus/model property an admin wants to set.

    ``name`` must be one of :data:`DEVICE_PROPERTIES` and ``value`` one of
    Nova's values for it (case and surrounding spaces are forgiven, and
    VMware's legacy VIF model names are mapped as Nova maps them). With a
    ``machine_type``, the value must also be one that machine type can
    have. Returns the normalised value; raises
    :class:`InvalidImageProperty` (or :class:`UnsupportedMachineType` for
    a bad ``machine_type``).
    """
    kind, values = DEVICE_PROPERTIES[check_image_property_name(name)]
    text = _normalise(name, kind, value, values)
    if machine_type is None:
        return text
    machine_type = _coerce(machine_type)
    constraint = _refusal(kind, text, machine_type)
    if constraint is not None:
        allowed = allowed_image_property_values(name, machine_type)
        raise InvalidImageProperty(
            "%s=%s cannot be used with machine type %s: %s; choose one of %s"
            % (name, text, machine_type.name, constraint.reason,
               ", ".join(allowed) or "(none)")
        )
    return text
