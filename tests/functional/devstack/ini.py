"""DevStack's ini functions (inc/ini-config), for testing the plugin.

``python ini.py set|add|get|get-multiline FILE SECTION OPTION [VALUE...]``
with DevStack's semantics: ``set`` replaces the option's lines with one
(creating file and section as needed), ``add`` appends values after the
option's existing lines (a multi-line option such as
``available_filters``), ``get`` prints the first value, ``get-multiline``
all of them separated by spaces. Comments and other lines stay as they
are.
"""

import re
import sys
from pathlib import Path

_SECTION = re.compile(r"^\s*\[(?P<name>[^\]]+)\]\s*$")
_OPTION = re.compile(r"^\s*(?P<name>[^#;=\s][^=]*?)\s*=\s*(?P<value>.*)$")


def _section_span(lines, section):
    """(first line after the header, end) of ``section``, or None."""
    start = None
    for index, line in enumerate(lines):
        match = _SECTION.match(line)
        if match and start is not None:
            return start, index
        if match and match["name"] == section:
            start = index + 1
    return (start, len(lines)) if start is not None else None


def _values(lines, span, option):
    return [(index, _OPTION.match(lines[index])["value"])
            for index in range(*span)
            if _OPTION.match(lines[index])
            and _OPTION.match(lines[index])["name"] == option]


def write(path: Path, section, option, values, keep_existing: bool):
    lines = path.read_text().splitlines() if path.exists() else []
    span = _section_span(lines, section)
    if span is None:
        lines += ["[%s]" % section]
        span = (len(lines), len(lines))
    found = _values(lines, span, option)
    new = ["%s = %s" % (option, value) for value in values]
    if keep_existing and found:
        at = found[-1][0] + 1
    elif found:
        at = found[0][0]
        for index, _ in reversed(found):
            del lines[index]
    else:
        at = span[1]
        while at > span[0] and not lines[at - 1].strip():
            at -= 1
    lines[at:at] = new
    path.write_text("\n".join(lines) + "\n")


def read(path: Path, section, option):
    lines = path.read_text().splitlines() if path.exists() else []
    span = _section_span(lines, section)
    return [value for _, value in _values(lines, span, option)] if span \
        else []


def main(argv):
    action, path, section, option, *values = argv
    path = Path(path)
    if action == "set":
        write(path, section, option, [" ".join(values)], False)
    elif action == "add":
        write(path, section, option, values, True)
    elif action == "get":
        print((read(path, section, option) or [""])[0])
    elif action == "get-multiline":
        print(" ".join(read(path, section, option)))
    else:
        raise SystemExit("unknown action %r" % action)


if __name__ == "__main__":
    main(sys.argv[1:])
