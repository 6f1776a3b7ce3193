"""Nova's extra-spec operator syntax, parsed once into typed predicates.

The syntax is Nova's (``=``, ``==``, ``!=``, ``>=``, ``<=``, ``s==``,
``s!=``, ``s<``, ``s<=``, ``s>``, ``s>=``, ``<in>``, ``<all-in>``, ``<or>``,
anything else meaning plain string equality). Two modes
(``[hwabi_scheduler] capabilities_operators``):

``nova`` (the default) gives ``nova.scheduler.filters.extra_specs_ops``'s
answer for every host it does not crash on: ``=`` means ``>=``, numeric
operators compare ``float()`` values, ``s...`` operators compare strings,
``<in>`` and ``<all-in>`` are substring tests on ``str(capability)`` (so
``<in> aes`` matches a host whose CPU features list only ``vaes``), and
``<or>`` takes every other word as an alternative without checking the
separators (``<or> a b c`` means a or c).

``typed`` differs only there: ``<in>`` and ``<all-in>`` test membership
when the capability is a list or dict (CPU features), substring only when
it is a string, and ``<or>`` needs ``<or>`` between the alternatives.

In both modes the requirement is parsed once per request, and where Nova
raises for every host (a missing or non-numeric operand, an empty ``<or>``,
a capability that is not a number) the host simply does not match, or the
requirement is a :class:`SpecSyntaxError`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nova_hwabi import values

NOVA = "nova"
TYPED = "typed"
MODES = (NOVA, TYPED)

_NUMERIC = {
    "=": operator.ge,  # Nova's historical meaning of '=' is '>='
    "==": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    "<=": operator.le,
}
_STRING = {
    "s==": operator.eq,
    "s!=": operator.ne,
    "s<": operator.lt,
    "s<=": operator.le,
    "s>": operator.gt,
    "s>=": operator.ge,
}
_COLLECTIONS = (list, tuple, set, frozenset)


# A compiled requirement: True when a capability satisfies it.
_Test = Callable[[Any], bool]


class SpecSyntaxError(ValueError):
    """An extra-spec requirement that cannot be parsed."""


@dataclass(frozen=True, slots=True)
class Predicate:
    """A parsed requirement; ``matches(capability)`` never raises."""

    raw: str
    op: str
    test: _Test

    def matches(self, capability: Any) -> bool:
        """True if ``capability`` satisfies the requirement."""
        return self.test(capability)


_as_number = values.parse_number


def _members(value: Any) -> set[str] | None:
    if isinstance(value, _COLLECTIONS):
        return {str(item) for item in value}
    if isinstance(value, dict):
        return {str(key) for key in value}
    return None


def _numeric(compare: Callable[[float, float], bool],
             operand: float) -> _Test:
    def test(capability: Any) -> bool:
        number = _as_number(capability)
        return number is not None and compare(number, operand)
    return test


def _string(compare: Callable[[str, str], bool], operand: str) -> _Test:
    return lambda capability: compare(str(capability), operand)


def _substrings(operands: tuple[str, ...]) -> _Test:
    """Nova's ``<in>`` / ``<all-in>``: substrings of ``str(capability)``."""
    def test(capability: Any) -> bool:
        text = str(capability)
        return all(operand in text for operand in operands)
    return test


def _contains(operands: tuple[str, ...]) -> _Test:
    """Typed ``<in>`` / ``<all-in>``: members of a list, else substrings."""
    def test(capability: Any) -> bool:
        members = _members(capability)
        if members is not None:
            return all(operand in members for operand in operands)
        text = str(capability)
        return all(operand in text for operand in operands)
    return test


def _one_of(alternatives: frozenset[str]) -> _Test:
    return lambda capability: str(capability) in alternatives


def parse_requirement(requirement: str, mode: str = NOVA) -> Predicate:
    """Parse one extra-spec value into a :class:`Predicate`.

    ``mode`` is :data:`NOVA` (Nova's answers) or :data:`TYPED` (see the
    module docstring). Raises :class:`SpecSyntaxError` naming what is
    wrong.
    """
    words = requirement.split()
    op = words[0] if words else ""
    operands = words[1:]
    typed = mode == TYPED
    contains = _contains if typed else _substrings
    if op == "<or>":
        return Predicate(requirement, op, _one_of(
            _or_values(requirement, operands, strict=typed)))
    if op in _NUMERIC:
        operand = _single_operand(requirement, op, operands)
        number = _as_number(operand)
        if number is None:
            raise SpecSyntaxError(
                "%r: operator %s compares numbers, %r is not one"
                % (requirement, op, operand)
            )
        return Predicate(requirement, op, _numeric(_NUMERIC[op], number))
    if op in _STRING:
        operand = _single_operand(requirement, op, operands)
        return Predicate(requirement, op, _string(_STRING[op], operand))
    if op == "<in>":
        operand = _single_operand(requirement, op, operands)
        return Predicate(requirement, op, contains((operand,)))
    if op == "<all-in>":
        if not operands:
            raise SpecSyntaxError(
                "%r: <all-in> needs at least one value" % requirement
            )
        return Predicate(requirement, op, contains(tuple(operands)))
    return Predicate(requirement, "", _string(operator.eq, requirement))


def _single_operand(requirement: str, op: str, operands: list[str]) -> str:
    # Like Nova, words after the first operand are ignored.
    if not operands:
        raise SpecSyntaxError("%r: operator %s needs a value" % (
            requirement, op,
        ))
    return operands[0]


def _or_values(requirement: str, operands: list[str],
               strict: bool) -> frozenset[str]:
    # Nova reads every other word as an alternative and drops the words
    # between unread, whatever they are.
    alternatives = operands[0::2]
    separators = operands[1::2]
    if not alternatives or (strict and any(word != "<or>"
                                           for word in separators)):
        raise SpecSyntaxError(
            "%r: expected '<or> A <or> B ...'" % requirement
        )
    return frozenset(alternatives)
