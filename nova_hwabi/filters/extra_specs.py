"""Nova's extra-spec operator syntax, parsed once into typed predicates.

The syntax is Nova's (``=``, ``==``, ``!=``, ``>=``, ``<=``, ``s==``,
``s!=``, ``s<``, ``s<=``, ``s>``, ``s>=``, ``<in>``, ``<all-in>``, ``<or>``,
anything else meaning plain string equality), with these differences from
``nova.scheduler.filters.extra_specs_ops``:

- the requirement is parsed once per request, and bad syntax (a missing or
  non-numeric operand, an empty ``<or>``) is a :class:`SpecSyntaxError`
  instead of an exception raised for every host;
- numeric operators compare numbers, and a capability that is not a number
  simply does not match;
- ``<in>`` and ``<all-in>`` test membership when the capability is a list
  (e.g. CPU features), substring only when it is a string.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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


class SpecSyntaxError(ValueError):
    """An extra-spec requirement that cannot be parsed."""


@dataclass(frozen=True, slots=True)
class Predicate:
    """A parsed requirement; ``matches(capability)`` never raises."""

    raw: str
    op: str
    test: Callable[[Any], bool]

    def matches(self, capability: Any) -> bool:
        """True if ``capability`` satisfies the requirement."""
        return self.test(capability)


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def _members(value: Any) -> set[str] | None:
    if isinstance(value, _COLLECTIONS):
        return {str(item) for item in value}
    if isinstance(value, dict):
        return {str(key) for key in value}
    return None


def _numeric(compare, operand: float):
    def test(capability: Any) -> bool:
        number = _as_number(capability)
        return number is not None and compare(number, operand)
    return test


def _string(compare, operand: str):
    return lambda capability: compare(str(capability), operand)


def _contains(operands: tuple[str, ...]):
    def test(capability: Any) -> bool:
        members = _members(capability)
        if members is not None:
            return all(operand in members for operand in operands)
        text = str(capability)
        return all(operand in text for operand in operands)
    return test


def _one_of(alternatives: frozenset[str]):
    return lambda capability: str(capability) in alternatives


def parse_requirement(requirement: str) -> Predicate:
    """Parse one extra-spec value into a :class:`Predicate`.

    Raises :class:`SpecSyntaxError` naming what is wrong.
    """
    words = requirement.split()
    op = words[0] if words else ""
    operands = words[1:]
    if op == "<or>":
        return Predicate(requirement, op, _one_of(_or_values(requirement,
                                                             operands)))
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
        return Predicate(requirement, op, _contains((operand,)))
    if op == "<all-in>":
        if not operands:
            raise SpecSyntaxError(
                "%r: <all-in> needs at least one value" % requirement
            )
        return Predicate(requirement, op, _contains(tuple(operands)))
    return Predicate(requirement, "", _string(operator.eq, requirement))


def _single_operand(requirement: str, op: str, operands: list[str]) -> str:
    # Like Nova, words after the first operand are ignored.
    if not operands:
        raise SpecSyntaxError("%r: operator %s needs a value" % (
            requirement, op,
        ))
    return operands[0]


def _or_values(requirement: str, operands: list[str]) -> frozenset[str]:
    values = operands[0::2]
    separators = operands[1::2]
    if not values or any(word != "<or>" for word in separators):
        raise SpecSyntaxError(
            "%r: expected '<or> A <or> B ...'" % requirement
        )
    return frozenset(values)
