"""The address width a guest runs with, and where a move may take it.

Pure functions over plain values, shared by the compute driver (which
records the width), the scheduler's request filter and host filter (which
keep moves on hosts of that width) and the audit command.

A guest with ``hw:maxphysaddr_mode=passthrough`` gets its host's physical
address width (QEMU ``host-phys-bits=on``), capped by the passthrough
``limit`` (libvirt >= 9.3.0, QEMU ``host-phys-bits-limit``) when one is
set. Moving it to a host of another width changes the width its OS sees;
a live migration to a narrower host can leave guest memory above what the
destination CPU can address. An emulated guest
(``hw:maxphysaddr_mode=emulate``) runs with its requested bits on every
host that has at least that many; the flavor/image request already
narrows its moves, so only passthrough guests need a recorded width.

The width is kept in the instance's system metadata under
:data:`MODE_KEY`, :data:`BITS_KEY` and (when set) :data:`LIMIT_KEY`, next
to ``hwabi_machine_type``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import overload

from nova_hwabi import traits
from nova_hwabi.capabilities.model import MaxPhysAddr
from nova_hwabi.conf.capabilities import MAX_BITS, MIN_BITS

EMULATE = "emulate"
PASSTHROUGH = "passthrough"

MODE_KEY = "hwabi_maxphysaddr_mode"
BITS_KEY = "hwabi_maxphysaddr_bits"
LIMIT_KEY = "hwabi_maxphysaddr_limit"
KEYS = (MODE_KEY, BITS_KEY, LIMIT_KEY)

# [hwabi_scheduler] live_move_address_width / cold_move_address_width.
SAME = "same"
AT_LEAST = "at-least"
ANY = "any"
POLICIES = (SAME, AT_LEAST, ANY)

LIVE = "live"
COLD = "cold"

# Nova's task_state of an instance while the scheduler picks a destination
# for it (nova/compute/api.py, every supported series): the API saves it
# before it calls the conductor. A rebuild is REBUILDING too, but on its
# own host, with the '_nova_check_type' scheduler hint set to ['rebuild'].
MOVE_KIND_BY_TASK_STATE = {
    "migrating": LIVE,          # live_migrate
    "resize_prep": COLD,        # resize, cold migrate (also cross-cell)
    "rebuilding": COLD,         # evacuate
    "unshelving": COLD,         # unshelve of a shelved-offloaded instance
}
REBUILD_HINT = "_nova_check_type"


class RecordedWidthError(ValueError):
    """System metadata holds a width nova-hwabi cannot read."""


@dataclass(frozen=True, slots=True)
class RecordedWidth:
    """The address width a guest runs with, as recorded.

    ``bits`` is the width the guest OS sees; ``limit`` the passthrough
    cap the guest was defined with (None when uncapped or emulated).
    """

    mode: str
    bits: int
    limit: int | None = None

    def to_system_metadata(self) -> dict[str, str]:
        """The system-metadata keys and values (strings, as Nova keeps)."""
        values = {MODE_KEY: self.mode, BITS_KEY: str(self.bits)}
        if self.limit is not None:
            values[LIMIT_KEY] = str(self.limit)
        return values

    def describe(self) -> str:
        """Short words for logs: ``passthrough, 48 bits (limit 46)``."""
        text = "%s, %d bits" % (self.mode, self.bits)
        if self.limit is not None:
            text += " (limit %d)" % self.limit
        return text


def recorded_width(system_metadata: Mapping[str, str]
                   ) -> RecordedWidth | None:
    """The width recorded in ``system_metadata``, or None if none is.

    Raises :class:`RecordedWidthError` for a record that is not one this
    module wrote (unknown mode, bits outside 32-52, a limit on emulate).
    """
    mode = system_metadata.get(MODE_KEY)
    bits = system_metadata.get(BITS_KEY)
    if mode is None and bits is None:
        return None
    if mode not in (EMULATE, PASSTHROUGH):
        raise RecordedWidthError(
            "%s = %r: expected emulate or passthrough" % (MODE_KEY, mode))
    width = RecordedWidth(mode, _recorded_int(system_metadata, BITS_KEY),
                          _recorded_int(system_metadata, LIMIT_KEY,
                                        optional=True))
    if width.limit is not None and mode != PASSTHROUGH:
        raise RecordedWidthError(
            "%s = %d is recorded for mode %s; only passthrough has a limit"
            % (LIMIT_KEY, width.limit, mode))
    return width


@overload
def _recorded_int(system_metadata: Mapping[str, str], key: str) -> int: ...


@overload
def _recorded_int(
    system_metadata: Mapping[str, str], key: str, *, optional: bool
) -> int | None: ...


def _recorded_int(
    system_metadata: Mapping[str, str], key: str, *, optional: bool = False
) -> int | None:
    text = system_metadata.get(key)
    if text is None and optional:
        return None
    value = str(text).strip() if text is not None else ""
    if not value.isdigit() or not MIN_BITS <= int(value) <= MAX_BITS:
        raise RecordedWidthError(
            "%s = %r: expected an integer from %d to %d"
            % (key, text, MIN_BITS, MAX_BITS))
    return int(value)


def width_at_spawn(guest: MaxPhysAddr | None,
                   host_bits: int | None) -> RecordedWidth | None:
    """The width a guest defined with ``guest`` runs with on this host.

    ``guest`` is the domain's ``<cpu><maxphysaddr>``
    (:attr:`GuestDomain.maxphysaddr`), ``host_bits`` the host CPU's
    ``<maxphysaddr bits=>`` from the capabilities. Passthrough gives the
    host's bits, or the ``limit`` when the host has at least that many;
    emulate gives its ``bits``. None when the width cannot be known here:
    no ``<maxphysaddr>``, emulate without bits (libvirt >= 9.2 lets QEMU
    choose), passthrough on a host that reports no bits.
    """
    if guest is None:
        return None
    if guest.mode == EMULATE:
        return RecordedWidth(EMULATE, guest.bits) if guest.bits else None
    if not host_bits:
        return None
    if guest.limit is not None and host_bits >= guest.limit:
        return RecordedWidth(PASSTHROUGH, guest.limit, guest.limit)
    return RecordedWidth(PASSTHROUGH, host_bits, guest.limit)


def record_change(system_metadata: Mapping[str, str],
                  width: RecordedWidth | None
                  ) -> tuple[dict[str, str], tuple[str, ...]]:
    """(keys to set, keys to remove) so the record says ``width``.

    The driver calls it each time the guest is defined on a host (spawn,
    the end of a cold or live move, evacuation, unshelve): the record then
    always says the width the guest runs with now, whatever the compute
    node reports later. Keys already right are left out.
    """
    wanted = width.to_system_metadata() if width is not None else {}
    to_set = {key: value for key, value in wanted.items()
              if system_metadata.get(key) != value}
    to_unset = tuple(key for key in KEYS
                     if key in system_metadata and key not in wanted)
    return to_set, to_unset


def move_kind(task_state: str | None,
              scheduler_hints: Mapping[str, object] | None) -> str | None:
    """:data:`LIVE`, :data:`COLD` or None (not a move) for a request.

    ``task_state`` is the instance's while it is being scheduled,
    ``scheduler_hints`` the RequestSpec's. A rebuild (same host) and a
    new boot (no task state of a move) are not moves.
    """
    if scheduler_hints and scheduler_hints.get(REBUILD_HINT) == ["rebuild"]:
        return None
    return MOVE_KIND_BY_TASK_STATE.get(task_state or "")


@dataclass(frozen=True, slots=True)
class WidthBounds:
    """The destination host bits a move accepts: ``low`` to ``high``.

    ``high`` None means no upper bound. ``reason`` says which guest and
    which option, for log lines and reject reasons.
    """

    low: int
    high: int | None
    reason: str

    def admits(self, host_bits: int) -> bool:
        """True when a host with ``host_bits`` keeps the guest's width."""
        return host_bits >= self.low and (
            self.high is None or host_bits <= self.high)

    def describe(self) -> str:
        """``exactly 48 bits`` or ``at least 46 bits``."""
        if self.high == self.low:
            return "exactly %d bits" % self.low
        return "at least %d bits" % self.low


def move_bounds(width: RecordedWidth | None, policy: str,
                kind: str) -> WidthBounds | None:
    """What a destination's bits must be for a ``kind`` move under ``policy``.

    None when the move puts no condition on the host's bits: no record,
    an emulated guest (its request's bits already apply on every host),
    or ``any`` (Nova's behaviour). ``at-least`` keeps the guest from
    losing address bits; ``same`` keeps the width it sees: exactly its
    bits, except that a guest capped by a ``limit`` it reached gets that
    limit on every host with at least as many bits.

    Raises ValueError for an unknown ``policy`` (oslo.config's choices
    prevent it).
    """
    if policy not in POLICIES:
        raise ValueError("unknown move policy %r, expected one of %s"
                         % (policy, ", ".join(POLICIES)))
    if width is None or width.mode != PASSTHROUGH or policy == ANY:
        return None
    option = "%s_move_address_width = %s" % (kind, policy)
    reason = "passthrough guest runs with %d address bits, %s" % (
        width.bits, option)
    if policy == AT_LEAST:
        return WidthBounds(width.bits, None, reason)
    if width.limit is not None and width.bits >= width.limit:
        return WidthBounds(width.bits, None,
                           reason + " (capped by its limit %d)" % width.limit)
    return WidthBounds(width.bits, width.bits, reason)


def ladder_traits(bounds: WidthBounds, ladder_min: int = MIN_BITS
                  ) -> tuple[frozenset[str], frozenset[str]]:
    """(required, forbidden) bits-ladder traits that express ``bounds``.

    A host reports ``CUSTOM_HWABI_MAXPHYSADDR_BITS_<N>`` for every N from
    its ``[hwabi_capabilities] bits_ladder_min`` (``ladder_min``) up to
    its own bits, so requiring the trait for ``low`` keeps hosts with at
    least ``low`` bits and forbidding the one for ``high + 1`` drops every
    host with more than ``high``. A ``low`` below ``ladder_min`` has no
    trait and is left to the host filter; no host has more than 52 bits.
    """
    required = set()
    forbidden = set()
    if ladder_min <= bounds.low <= MAX_BITS:
        required.add(traits.bits_trait(bounds.low))
    if bounds.high is not None and bounds.high + 1 <= MAX_BITS:
        # A host with any trait above ``high`` has more bits than ``high``.
        forbidden.add(traits.bits_trait(max(bounds.high + 1, ladder_min)))
    return frozenset(required), frozenset(forbidden)
