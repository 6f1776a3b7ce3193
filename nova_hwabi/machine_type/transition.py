"""Fleet machine-type transitions: which instances, and what happens.

Pure functions, no Nova import (the database side is
:func:`nova_hwabi.machine_type.listings.transition`):

* :func:`parse_pattern` reads ``--from``: a glob over machine type names
  (``pc-i440fx-*``, ``pc-q35-rhel9.?.0``, an exact name such as ``pc``) or
  an inclusive versioned range ``FIRST..LAST`` within one family, variant
  and flavour (``pc-q35-2.0..pc-q35-4.2``; either end may be left out:
  ``..pc-q35-4.2``, ``pc-q35-7.0..``). Bad patterns raise
  :class:`InvalidPattern` saying how to write one.
* :func:`plan` decides, from what is recorded for one instance, whether
  it can move to the target type now (STOPPED, SHELVED or
  SHELVED_OFFLOADED and allowed by :func:`updates.check_update`), needs a
  stop first, is refused by the rules, or already runs the target.

An instance is selected when its pinned type (``hwabi_machine_type``) or
its recorded type (``image_hw_machine_type``) matches; the update rules
are checked against both, so an instance recorded as the alias ``q35``
but pinned to ``pc-q35-8.2`` is not moved "forwards" to ``pc-q35-7.2``.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass

from nova_hwabi.machine_type import names, updates

# Row outcomes, as printed.
UPDATED = "updated"
WOULD_UPDATE = "would-update"
UNCHANGED = "unchanged"
NEEDS_STOP = "needs-stop"
REFUSED = "refused"
FAILED = "failed"
OUTCOMES = (UPDATED, WOULD_UPDATE, UNCHANGED, NEEDS_STOP, REFUSED, FAILED)

RANGE_SEPARATOR = ".."
_GLOB_CHARACTERS = re.compile(r"[A-Za-z0-9._\-*?\[\]!]+")


class InvalidPattern(names.MachineTypeError):
    """A ``--from`` pattern that is neither a glob nor a versioned range."""


@dataclass(frozen=True)
class Pattern:
    """A parsed ``--from`` pattern; :meth:`matches` one machine type name.

    ``glob`` is set for glob patterns; ``first``/``last`` (either may be
    None for an open end) for ranges. ``prefix`` is a literal prefix every
    matching name has ("" when none), for narrowing in SQL.
    """

    text: str
    glob: str | None = None
    first: names.MachineType | None = None
    last: names.MachineType | None = None
    prefix: str = ""

    def matches(self, name: str | None) -> bool:
        """True when machine type ``name`` is selected (None never is)."""
        if not name:
            return False
        if self.glob is not None:
            return fnmatch.fnmatchcase(name, self.glob)
        try:
            parsed = names.parse_machine_type(name)
        except names.UnsupportedMachineType:
            return False
        # parse_pattern gives a range at least one end, and only
        # versioned ends; a missing end or version is an open end.
        anchor = self.first or self.last
        if anchor is None or parsed.version is None or (
                (parsed.family, parsed.variant, parsed.flavour)
                != (anchor.family, anchor.variant, anchor.flavour)):
            return False
        first = self.first.version if self.first is not None else None
        last = self.last.version if self.last is not None else None
        if first is not None and parsed.version < first:
            return False
        return last is None or parsed.version <= last


def _range_end(pattern: str, text: str,
               which: str) -> names.MachineType | None:
    if not text:
        return None
    try:
        parsed = names.parse_machine_type(text)
    except names.UnsupportedMachineType as exc:
        raise InvalidPattern("--from %r: the %s end: %s" % (
            pattern, which, exc)) from None
    if parsed.version is None:
        raise InvalidPattern(
            "--from %r: the %s end %s has no version; a range runs between "
            "versioned types of one family (e.g. pc-q35-2.0..pc-q35-4.2); "
            "select aliases with a glob or their name instead"
            % (pattern, which, parsed.describe()))
    return parsed


def _set_error(glob: str) -> str | None:
    """Why the ``[...]`` sets of ``glob`` are malformed, or None.

    fnmatch reads an unclosed ``[`` as a literal character, so a typo
    would select nothing and look like a finished transition.
    """
    index = 0
    while index < len(glob):
        if glob[index] == "]":
            return "a ']' has no opening '['"
        if glob[index] != "[":
            index += 1
            continue
        end = glob.find("]", index + 1)
        if end == -1:
            return "a '[' has no closing ']'"
        body = glob[index + 1:end]
        if body in ("", "!") or "[" in body:
            return "the set %r is empty or nested" % glob[index:end + 1]
        index = end + 1
    return None


def _literal_prefix(glob: str) -> str:
    match = re.match(r"[^*?\[]*", glob)
    return match.group(0) if match else ""


def parse_pattern(text: str) -> Pattern:
    """Parse a ``--from`` pattern; :class:`InvalidPattern` when malformed.

    ``A..B`` is a range (inclusive; both ends versioned types of the same
    family, variant and flavour, A not newer than B; one end may be
    empty); anything else is a glob with ``*``, ``?`` and ``[...]`` as in
    shell patterns, matched against the whole name, case-sensitively
    (QEMU's names are lower case but for a few boards such as ``SS-5``).
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidPattern(
            "--from is empty: give a glob (pc-i440fx-*) or a versioned "
            "range (pc-q35-2.0..pc-q35-4.2)")
    if RANGE_SEPARATOR in text:
        first_text, _, last_text = text.partition(RANGE_SEPARATOR)
        if RANGE_SEPARATOR in last_text or not (first_text or last_text):
            raise InvalidPattern(
                "--from %r: a range is FIRST..LAST with one '..', e.g. "
                "pc-q35-2.0..pc-q35-4.2 (either end may be left out)" % text)
        first = _range_end(text, first_text, "first")
        last = _range_end(text, last_text, "last")
        if first is not None and last is not None:
            try:
                if names.compare_machine_types(first, last) > 0:
                    raise InvalidPattern(
                        "--from %r: %s is newer than %s; write the older "
                        "type first" % (text, first.name, last.name))
            except names.IncomparableMachineTypesError as exc:
                raise InvalidPattern("--from %r: %s" % (text, exc)) from None
            if first.flavour != last.flavour:
                raise InvalidPattern(
                    "--from %r: the ends differ in flavour (%s, %s)"
                    % (text, first.flavour or "none", last.flavour or "none"))
        return Pattern(text, first=first, last=last)
    if not _GLOB_CHARACTERS.fullmatch(text):
        raise InvalidPattern(
            "--from %r: a glob uses letters, digits, '.', '-', '_' and the "
            "wildcards * ? [...] (e.g. pc-i440fx-*)" % text)
    set_error = _set_error(text)
    if set_error:
        raise InvalidPattern(
            "--from %r: %s; write a set as [45] or [!0] (e.g. "
            "pc-q35-[45].*)" % (text, set_error))
    return Pattern(text, glob=text, prefix=_literal_prefix(text))


@dataclass(frozen=True)
class Candidate:
    """One instance with a recorded or pinned machine type."""

    uuid: str
    cell: str
    vm_state: str
    host: str | None
    recorded: str | None
    pinned: str | None
    # The recorded hw_architecture (None: the deployment's default).
    arch: str | None = None

    @property
    def current(self) -> str | None:
        """The type the guest runs: the pin, else the record."""
        return self.pinned or self.recorded

    def selected_by(self, pattern: Pattern) -> bool:
        """True when the pinned or the recorded type matches."""
        return pattern.matches(self.pinned) or pattern.matches(self.recorded)


@dataclass(frozen=True)
class Row:
    """What happened to one instance, and why."""

    uuid: str
    cell: str
    vm_state: str
    current: str | None
    target: str
    outcome: str
    reason: str

    def to_dict(self) -> dict[str, str | None]:
        """JSON-ready view."""
        return {"instance": self.uuid, "cell": self.cell,
                "vm_state": self.vm_state, "from": self.current,
                "to": self.target, "outcome": self.outcome,
                "reason": self.reason}


def _row(candidate: Candidate, target: names.MachineType, outcome: str,
         reason: str) -> Row:
    return Row(candidate.uuid, candidate.cell, candidate.vm_state,
               candidate.current, target.name, outcome, reason)


def is_done(candidate: Candidate, target: names.MachineType) -> bool:
    """True when the record (and the pin, for a versioned target) is the
    target already: a re-run leaves such instances alone."""
    if candidate.recorded != target.name:
        return False
    return target.is_alias or candidate.pinned == target.name


def plan(candidate: Candidate, target: names.MachineType,
         dry_run: bool = False,
         check_arch: Callable[[str | None], object] | None = None) -> Row:
    """The row for ``candidate`` before anything is written.

    ``unchanged`` (already the target), ``refused`` (the update rules
    refuse the change from the pinned or the recorded type, or
    ``check_arch(candidate.arch)`` raises a ``MachineTypeError``: the
    instance's architecture cannot run the target),
    ``needs-stop`` (allowed, but the instance is not stopped or shelved),
    else ``would-update`` (the caller then writes and reports
    ``updated``, or ``failed``).
    """
    if is_done(candidate, target):
        return _row(candidate, target, UNCHANGED,
                    "already %s" % target.name)
    for existing in dict.fromkeys((candidate.pinned, candidate.recorded)):
        if not existing:
            continue
        try:
            updates.check_update(existing, target)
        except names.MachineTypeError as exc:
            return _row(candidate, target, REFUSED, str(exc))
    if check_arch is not None:
        try:
            check_arch(candidate.arch)
        except names.MachineTypeError as exc:
            return _row(candidate, target, REFUSED, str(exc))
    if candidate.vm_state not in updates.UPDATABLE_VM_STATES:
        return _row(candidate, target, NEEDS_STOP,
                    "instance is %s: stop or shelve it, then run the "
                    "transition again" % candidate.vm_state)
    return _row(candidate, target, WOULD_UPDATE,
                "%s -> %s%s" % (candidate.current, target.name,
                                " (dry run: nothing written)" if dry_run
                                else ""))


def with_outcome(row: Row, outcome: str, reason: str) -> Row:
    """``row`` with another outcome and reason."""
    return Row(row.uuid, row.cell, row.vm_state, row.current, row.target,
               outcome, reason)


def summarise(rows: list[Row]) -> dict[str, int]:
    """{outcome: count} over ``rows``, every outcome present."""
    counts = dict.fromkeys(OUTCOMES, 0)
    for row in rows:
        counts[row.outcome] += 1
    return counts
