"""What every nova-hwabi admin command shares: exit-code tables, the
``--format table|json`` printer, and help text built from both.

An exit-code table is an :class:`ExitCodes` subclass, one per command or
sub-command: each member is a code (an ``int``, what ``main`` returns) and
its meaning, and the order of the members is the order ``--help`` and the
CLI reference list them. Handlers return members by name
(``UpdateExit.NOT_FOUND``), never bare numbers, so the help text
(:func:`exit_codes_epilog`) and the code cannot disagree; a test checks
the CLI reference (``doc/source/cli``) against the same tables.
"""

from __future__ import annotations

import argparse
import enum
import inspect
import json
import textwrap
from collections.abc import Iterable

# The width help text is wrapped to, as argparse's default on a terminal
# of 80 columns.
_WIDTH = 78


class ExitCodes(enum.IntEnum):
    """Base of a command's exit-code table.

    Subclass with members ``NAME = CODE, "meaning"``; the meaning is one
    phrase, lower case, as ``--help`` prints it after the code.
    """

    meaning: str

    def __new__(cls, code: int, meaning: str) -> ExitCodes:
        member = int.__new__(cls, code)
        member._value_ = code
        member.meaning = meaning
        return member


def merged(*tables: type[ExitCodes]) -> list[ExitCodes]:
    """The members of ``tables`` in code order (a sub-command's own codes
    and those every sub-command of its command shares)."""
    return sorted((member for table in tables for member in table),
                  key=int)


def exit_codes_epilog(*tables: type[ExitCodes]) -> str:
    """``exit codes:`` and a line per code of ``tables``, wrapped, for an
    argparse epilog under :class:`argparse.RawDescriptionHelpFormatter`."""
    lines = ["exit codes:"]
    for member in merged(*tables):
        lines.extend(textwrap.wrap(
            member.meaning, _WIDTH, initial_indent="  %-4d" % member,
            subsequent_indent=" " * 6))
    return "\n".join(lines)


def paragraphs(text: str | None) -> str:
    """A docstring as argparse's default formatter shows it (each
    paragraph re-wrapped), for parsers whose epilog must keep its layout."""
    return "\n\n".join(
        textwrap.fill(" ".join(paragraph.split()), _WIDTH)
        for paragraph in inspect.cleandoc(text or "").split("\n\n")
        if paragraph.strip())


# The formatter of parsers built with these helpers: description and
# epilog are printed as given (both are wrapped here already).
HELP_FORMATTER = argparse.RawDescriptionHelpFormatter


class Output:
    """Prints a command's result: a table for people, or JSON.

    ``fmt`` is the ``--format`` value, ``table`` or ``json``. JSON is
    indented by 2; ``sort_keys`` False keeps the keys in the order the
    result gives them (each command keeps the order it always printed).
    """

    def __init__(self, fmt: str, *, sort_keys: bool = True) -> None:
        self.json = fmt == "json"
        self._sort_keys = sort_keys

    def emit(self, data: object,
             table: Iterable[str] | None = None) -> None:
        """Print ``data`` (JSON-ready) as JSON, or else the lines of
        ``table``; without ``table``, ``data`` (a mapping) as one
        ``key value`` line per item (see :func:`key_value_lines`)."""
        if self.json:
            print(json.dumps(data, indent=2, sort_keys=self._sort_keys))
            return
        if table is None:
            if not isinstance(data, dict):
                raise TypeError("a table needs lines or a dict, not %s"
                                % type(data).__name__)
            table = key_value_lines(data.items())
        for line in table:
            print(line)


def key_value_lines(rows: Iterable[tuple[str, object]]) -> Iterable[str]:
    """``key value`` lines, keys in a column of 20, None shown as ``-``."""
    for key, value in rows:
        yield "%-20s %s" % (key, "-" if value is None else value)
