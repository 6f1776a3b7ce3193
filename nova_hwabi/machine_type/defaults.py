"""``[libvirt] hw_machine_type``: the machine type of an instance that asks
for none.

:func:`default_machine_type` is the machine type Nova's libvirt driver
gives an instance whose image sets no ``hw_machine_type``: the
``[libvirt] hw_machine_type`` entry for its architecture, the whole option
checked entry by entry (:class:`InvalidMachineTypeConfig`, a
:class:`~nova_hwabi.machine_type.names.MachineTypeError`), then Nova's
built-in defaults (:data:`NOVA_DEFAULT_MACHINE_TYPES`). Pure functions, no
Nova import.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from nova_hwabi.machine_type import arches
from nova_hwabi.machine_type.names import (
    I440FX,
    POWERNV,
    PSERIES,
    Q35,
    S390_CCW_VIRTIO,
    VERSIONED_FAMILIES,
    VIRT,
    MachineType,
    MachineTypeError,
    UnsupportedMachineType,
    parse_machine_type,
)

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


class InvalidMachineTypeConfig(MachineTypeError):  # noqa: N818
    """A malformed ``[libvirt] hw_machine_type`` entry."""


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
