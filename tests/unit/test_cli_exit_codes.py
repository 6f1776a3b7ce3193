"""Exit codes: the tables in nova_hwabi/cmd, the commands' --help and the
CLI reference (doc/source/cli/nova-hwabi-*.rst) say the same.

Every handler returns members of its table; --help is generated from the
table; the reference is written by hand, so this test reads its "Exit
codes" tables (with docutils, as Sphinx does) and compares the codes, in
order, with the tables.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest
from docutils import nodes
from docutils.core import publish_doctree
from oslo_config import cfg

from nova_hwabi.cmd import cli, demo, manage, report, status

CLI_DOCS = Path(__file__).parents[2] / "doc" / "source" / "cli"
# The reference's row for the codes every manage sub-command shares.
SHARED_ROW = "every sub-command"


def _manage_leaves() -> dict[str, argparse.ArgumentParser]:
    """{"machine-type get": its parser, ...} as nova-hwabi-manage builds
    them."""
    parser = argparse.ArgumentParser(prog="nova-hwabi-manage")
    manage._add_command_parsers(parser.add_subparsers())
    leaves = {}
    for category, sub in parser._subparsers._group_actions[0].choices.items():
        for action, leaf in sub._subparsers._group_actions[0].choices.items():
            leaves["%s %s" % (category, action)] = leaf
    return leaves


def _exit_code_tables(rst: Path) -> list[nodes.table]:
    """The tables of the page's "Exit codes" section."""
    tree = publish_doctree(rst.read_text(), settings_overrides={
        # Sphinx's roles and directives are unknown to plain docutils;
        # they do not matter here.
        "report_level": 5, "halt_level": 5})
    for section in tree.findall(nodes.section):
        if section[0].astext() == "Exit codes":
            return list(section.findall(nodes.table))
    raise AssertionError("%s has no 'Exit codes' section" % rst.name)


def _rows(table: nodes.table) -> list[list[nodes.entry]]:
    body = next(table.findall(nodes.tbody))
    return [list(row.findall(nodes.entry)) for row in body.children]


def _leading_code(text: str) -> int:
    match = re.match(r"\s*(\d+)\b", text)
    assert match, "no exit code at the start of %r" % text
    return int(match.group(1))


def documented_per_command(rst: Path) -> list[int]:
    """Codes of a "code | meaning" table, in the page's order."""
    (table,) = _exit_code_tables(rst)
    return [_leading_code(code.astext()) for code, _ in _rows(table)]


def documented_per_sub_command(rst: Path) -> dict[str, list[int]]:
    """{sub-command: codes} of a "sub-command | exit codes" table, each
    code the start of an item of the bullet list in the second column."""
    (table,) = _exit_code_tables(rst)
    documented = {}
    for name, codes in _rows(table):
        listed = [_leading_code(item.astext())
                  for item in codes.findall(nodes.list_item)]
        names = [literal.astext() for literal in name.findall(nodes.literal)]
        for each in names or [name.astext()]:
            assert each not in documented, "%s documented twice" % each
            documented[each] = listed
    return documented


def help_exit_codes(text: str) -> dict[int, str]:
    """{code: meaning} of the "exit codes:" section --help ends with."""
    listed: dict[int, str] = {}
    section = text.split("\nexit codes:\n", 1)
    assert len(section) == 2, "no 'exit codes:' section in:\n" + text
    code = None
    for line in section[1].splitlines():
        match = re.match(r"  (\d+)\s+(.*)", line)
        if match:
            code = int(match.group(1))
            listed[code] = match.group(2)
        elif line.startswith("      ") and code is not None:
            listed[code] += " " + line.strip()
        else:
            break
    return listed


def _meanings(*tables: type[cli.ExitCodes]) -> dict[int, str]:
    return {int(member): member.meaning for member in cli.merged(*tables)}


# -- nova-hwabi-manage --------------------------------------------------------

MANAGE_LEAVES = _manage_leaves()


def test_manage_reference_names_every_sub_command():
    documented = documented_per_sub_command(
        CLI_DOCS / "nova-hwabi-manage.rst")
    assert set(documented) == set(MANAGE_LEAVES) | {SHARED_ROW}


def test_manage_reference_shared_codes_are_the_table():
    documented = documented_per_sub_command(
        CLI_DOCS / "nova-hwabi-manage.rst")
    assert documented[SHARED_ROW] == [int(code)
                                      for code in manage.CommonExit]


@pytest.mark.parametrize("name", sorted(MANAGE_LEAVES))
def test_manage_reference_codes_are_the_table(name):
    codes = MANAGE_LEAVES[name].get_default("exit_codes")
    documented = documented_per_sub_command(
        CLI_DOCS / "nova-hwabi-manage.rst")
    assert documented[name] == [int(code) for code in codes]


@pytest.mark.parametrize("name", sorted(MANAGE_LEAVES))
def test_manage_help_lists_the_table(name):
    leaf = MANAGE_LEAVES[name]
    codes = leaf.get_default("exit_codes")
    assert help_exit_codes(leaf.format_help()) == _meanings(
        codes, manage.CommonExit)


# -- nova-hwabi-report --------------------------------------------------------

def test_report_reference_codes_are_the_table():
    assert documented_per_command(CLI_DOCS / "nova-hwabi-report.rst") == [
        int(code) for code in report.ReportExit]


def test_report_help_lists_the_table(capsys):
    assert report.main(["--help"]) == report.ReportExit.OK
    out = capsys.readouterr().out
    assert help_exit_codes(out) == _meanings(report.ReportExit)
    # The epilog keeps its layout (oslo.config's parser re-flowed it).
    assert "\nsources (pick one; the default is --connect):\n" in out


# -- nova-hwabi-status --------------------------------------------------------

def test_status_reference_codes_are_the_table():
    assert documented_per_command(CLI_DOCS / "nova-hwabi-status.rst") == [
        int(code) for code in cli.merged(status.UpgradeCheckExit)]


def test_status_help_lists_the_table(capsys):
    conf = cfg.ConfigOpts()
    status.register_cli_options(conf, status.Checks(conf, lambda: None))
    with pytest.raises(SystemExit) as stopped:
        conf(["upgrade", "--help"], prog="nova-hwabi-status")
    assert stopped.value.code == 0
    assert help_exit_codes(capsys.readouterr().out) == _meanings(
        status.UpgradeCheckExit)


# -- nova-hwabi-demo ------------------------------------------------------

def test_demo_reference_codes_are_the_table():
    assert documented_per_command(CLI_DOCS / "nova-hwabi-demo.rst") == [
        int(code) for code in demo.DemoExit]


def test_demo_help_lists_the_table(capsys):
    with pytest.raises(SystemExit) as stopped:
        demo.main(["--help"])
    assert stopped.value.code == 0
    assert help_exit_codes(capsys.readouterr().out) == _meanings(
        demo.DemoExit)


# -- codes a command can really return ---------------------------------------

# (command, argv, what its --help must not list): codes another command's
# table had that this one cannot return.
NOT_RETURNED = [
    # unset takes names only: never "not NAME=VALUE" nor a bad value.
    ("image-property unset", 4), ("image-property unset", 6),
]


@pytest.mark.parametrize(("name", "code"), NOT_RETURNED)
def test_help_lists_no_code_the_command_cannot_return(name, code):
    assert code not in help_exit_codes(MANAGE_LEAVES[name].format_help())


@pytest.mark.parametrize("argv", [["--bogus"], ["--verbose", "extra"]])
def test_demo_usage_error_is_in_its_table(argv, capsys):
    with pytest.raises(SystemExit) as stopped:
        demo.main(argv)
    assert stopped.value.code == demo.DemoExit.USAGE == 2
    assert "nova-hwabi-demo: error:" in capsys.readouterr().err


@pytest.mark.parametrize(("text", "expected"), [
    ("1", 1), ("2147483647", 2**31 - 1),
    ("2147483648", None), ("9223372036854775807", None),
    ("99999999999999999999999", None), ("0", None), ("-1", None),
])
def test_manage_limit_is_bounded(text, expected):
    import argparse

    if expected is None:
        with pytest.raises(argparse.ArgumentTypeError):
            manage._limit(text)
    else:
        assert manage._limit(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("00000000000040008000000000000033",
     "00000000-0000-4000-8000-000000000033"),
    ("00000000-0000-4000-8000-00000000003A",
     "00000000-0000-4000-8000-00000000003a"),
    ("not-a-uuid", "not-a-uuid"),
])
def test_manage_uuid_arguments_as_nova_stores_them(text, expected):
    assert manage._uuid(text) == expected


# -- the tables themselves ----------------------------------------------------

TABLES = [manage.CommonExit, report.ReportExit, status.UpgradeCheckExit,
          demo.DemoExit,
          *{leaf.get_default("exit_codes")
            for leaf in MANAGE_LEAVES.values()}]


@pytest.mark.parametrize("table", TABLES, ids=lambda table: table.__name__)
def test_no_code_means_two_things(table):
    # Enum makes a second member with a taken value an alias of the first:
    # it would vanish from --help and the reference.
    assert len(table.__members__) == len(list(table))


@pytest.mark.parametrize("table", [leaf.get_default("exit_codes")
                                   for leaf in MANAGE_LEAVES.values()],
                         ids=list(MANAGE_LEAVES))
def test_manage_sub_commands_do_not_redefine_shared_codes(table):
    assert not {int(code) for code in table} & {
        int(code) for code in manage.CommonExit}


def test_epilog_wraps_long_meanings_under_their_code():
    class Example(cli.ExitCodes):
        OK = 0, "done"
        LONG = 12, " ".join(["word"] * 40)

    text = "usage: x\n\n" + cli.exit_codes_epilog(Example)
    assert help_exit_codes(text) == {0: "done", 12: Example.LONG.meaning}
    assert all(len(line) <= 78 for line in text.splitlines())
