"""The one parser for whole numbers nova-hwabi reads from outside.

Flavor extra specs, image properties, host ``cpu_info`` strings, libvirt
XML attributes and command-line arguments all carry integers as text.
Python's ``int()`` accepts far more than any of them should (``'+46'``,
``'4_6'``, ``' 46 '``, ``'٤٦'``) and ``str.isdigit`` accepts characters
``int()`` then refuses (``'²'``), so two places reading the same value with
those two disagree: the API accepts what the scheduler refuses, or the
scheduler raises. Every integer read from text goes through
:func:`parse_decimal` instead, so every reader agrees.

No Nova import; usable anywhere.
"""

from __future__ import annotations

from typing import Any


def parse_decimal(value: Any) -> int | None:
    """``value`` as a non-negative integer, or None if it is not one.

    Accepted: an ``int`` (not a ``bool``) >= 0, or a string of ASCII
    digits ``0``-``9`` with optional surrounding whitespace (leading zeros
    allowed, as libvirt writes none and people sometimes do). Refused
    (None): signs, underscores, decimal points, exponents, non-ASCII digits
    (``'²'``, ``'٤'``), empty text, floats, bools and anything else.
    Never raises.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    # isascii() first: isdigit() alone takes superscripts and other
    # scripts' digits, which int() then refuses or reads differently.
    if not text or not text.isascii() or not text.isdigit():
        return None
    return int(text)


def describe_decimal_error(value: Any, what: str, minimum: int | None = None,
                           maximum: int | None = None) -> str:
    """One line saying that ``what`` = ``value`` is not a usable integer.

    ``minimum`` / ``maximum`` name the accepted range when there is one.
    """
    if minimum is not None and maximum is not None:
        expected = "an integer from %d to %d" % (minimum, maximum)
    elif minimum is not None:
        expected = "an integer >= %d" % minimum
    else:
        expected = "a whole number"
    shown = value[:40] if isinstance(value, str) else value
    return "%s = %r: expected %s, written with the digits 0-9 only" % (
        what, shown, expected)


def parse_number(value: Any) -> float | None:
    """``value`` as Nova's extra-spec operators read numbers, or None.

    Nova's ``extra_specs_ops`` compares ``float(str(capability))`` with
    ``float(operand)``; to give the same answers (drop-in), numbers in
    ``capabilities:`` extra specs keep Python's float syntax. None where
    Nova would raise ``ValueError``; bools are not numbers (Nova's
    ``float('True')`` raises). Never raises.
    """
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, int | float):
            return float(value)
        return float(str(value))
    except (ValueError, OverflowError):
        return None
