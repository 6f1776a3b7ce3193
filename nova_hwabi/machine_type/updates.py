"""The update rules: may an instance's machine type change without --force?

:func:`check_update` decides whether an instance's recorded machine type
may change to another: an upgrade within one family, variant and flavour,
or pinning an alias to a versioned type of its family. Any other change
(which would change the guest's virtual hardware, its ABI, at its next
start), or a recorded type that cannot be read, is refused with
:class:`InvalidMachineTypeUpdate` (a
:class:`~nova_hwabi.machine_type.names.MachineTypeError`), which the admin
commands' ``--force`` overrides; a new name that is no machine type at all
is :class:`~nova_hwabi.machine_type.names.UnsupportedMachineType`, which
it does not. Pure functions, no Nova import.
"""

from __future__ import annotations

from nova_hwabi.machine_type.names import (
    MachineType,
    MachineTypeError,
    UnsupportedMachineType,
    as_machine_type,
)

# The vm_states in which an instance's machine type or device properties
# may change: the guest is not running, its next start reads the record
# (the states nova-manage's libvirt update_machine_type accepts).
UPDATABLE_VM_STATES = ("stopped", "shelved", "shelved_offloaded")

_FORCE_HINT = (
    "; changing it would change the guest's virtual hardware (its ABI) at "
    "its next start: rebuild the instance instead, or repeat the command "
    "with --force if you accept that risk"
)


# Also the name of Nova's exception.
class InvalidMachineTypeUpdate(MachineTypeError):  # noqa: N818
    """A change of an instance's machine type that needs ``--force``."""


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
    new = as_machine_type(new)
    if existing is None or existing == "":
        return new
    try:
        existing = as_machine_type(existing)
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
