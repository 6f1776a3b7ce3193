"""Every command, run as a new user would, on a configuration it cannot use.

Each row runs a real console script of the venv (nova-hwabi-manage, -status,
-report, -scheduler, -demo) as a subprocess with HOME and the working
directory in an empty temporary directory, so only the config file the row
gives is read (or none). A command with an unusable configuration must
print exactly one line on stderr, naming the option (or the file) and the
file, print nothing on stdout and no traceback, and exit with its
documented code: 78 (configuration) for nova-hwabi-manage and
nova-hwabi-status, 2 (bad configuration) or 5 (Placement credentials) for
nova-hwabi-report.
"""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from nova_hwabi.cmd import nova_setup

BIN = Path(sys.executable).parent
UUID = "00000000-0000-4000-8000-000000000001"
CONFIG = nova_setup.EXIT_CONFIG
NO_FILE = "in any config file: none was read"

MANAGE_COMMANDS = {
    "get": ["machine-type", "get", UUID],
    "update": ["machine-type", "update", UUID, "pc-q35-7.2"],
    "list-unset": ["machine-type", "list-unset"],
    "transition": ["machine-type", "transition", "--from", "pc", "--to",
                   "q35"],
    "record": ["machine-type", "record"],
    "audit": ["machine-type", "audit"],
    "width-audit": ["address-width", "audit"],
    "property-show": ["image-property", "show", UUID],
    "property-list": ["image-property", "list", UUID],
    "property-set": ["image-property", "set", UUID, "--property",
                     "hw_disk_bus=virtio"],
    "property-unset": ["image-property", "unset", UUID, "hw_video_model"],
}
STATUS = ["upgrade", "check"]
SYNC = ["--sync", "--sample", "x86_64-passthrough-52bits"]

# name: nova.conf text ({dir} is the test's directory); None: no file.
CONFS = {
    "no-file": None,
    "no-database": "[DEFAULT]\ndebug = false\n",
    "junk-url": "[api_database]\nconnection = not a url\n",
    "unknown-kind": "[api_database]\nconnection = nosuchdb://h/nova_api\n",
    "driver-missing": "[api_database]\n"
                      "connection = sqlite+pysqlcipher://:pw@/{dir}/x.db\n",
    "sqlite-missing": "[api_database]\n"
                      "connection = sqlite:///{dir}/missing.db\n",
    "not-api-db": "[api_database]\nconnection = sqlite:///{dir}/empty.db\n",
    "bad-operators": "[hwabi_scheduler]\ncapabilities_operators = bogus\n",
    "bad-virt-type": "[libvirt]\nvirt_type = xen\n",
    "bad-xml-bytes": "[hwabi_capabilities]\nmax_xml_bytes = lots\n",
    "bad-substitution": "[hwabi_scheduler]\ndefault_guest_arch = $nosuch\n",
    "unparseable": "this is not an ini line\n",
    "placement-auth-unknown": "[placement]\nauth_type = nosuch\n",
    "placement-auth-incomplete": "[placement]\nauth_type = password\n",
    "missing-file": "",  # --config-file names a file that does not exist
}


def _binary_file(directory: Path) -> str:
    path = directory / "nova.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE instances (id INTEGER)")
    connection.close()
    return str(path)


def _fifo(directory: Path) -> str:
    path = directory / "nova.fifo"
    os.mkfifo(path)
    return str(path)


# name: what --config-file names, for files that cannot be read as text
# (oslo.config raises these unwrapped: IsADirectoryError,
# UnicodeDecodeError).
UNREADABLE_FILES = {
    "directory": lambda directory: str(directory),
    "empty-name": lambda directory: "",
    "binary": _binary_file,
    # Never opened: the parser would read /dev/zero until memory runs out
    # and block on a pipe no one writes.
    "device": lambda directory: "/dev/zero",
    "fifo": _fifo,
}

# What the one line must contain, per configuration: the option (or file
# problem) and where ("{conf}": the row's file, NO_FILE: none read).
SAYS = {
    "no-file": ("[api_database] connection is not set", NO_FILE),
    "no-database": ("[api_database] connection is not set", "{conf}"),
    "junk-url": ("[api_database] connection", "is not a database URL",
                 "{conf}"),
    "unknown-kind": ("[api_database] connection", "unknown database kind",
                     "{conf}"),
    "driver-missing": ("[api_database] connection", "pysqlcipher3",
                       "not installed", ":***@", "{conf}"),
    "sqlite-missing": ("[api_database] connection", "does not exist",
                       "{conf}"),
    "not-api-db": ("[api_database] connection", "is not Nova's API database",
                   "{conf}"),
    "bad-operators": ("[hwabi_scheduler] capabilities_operators", "bogus",
                      "{conf}"),
    "bad-virt-type": ("[libvirt] virt_type", "xen", "{conf}"),
    "bad-xml-bytes": ("[hwabi_capabilities] max_xml_bytes", "lots",
                      "{conf}"),
    "bad-substitution": ("[hwabi_scheduler] default_guest_arch",
                         "no such option nosuch", "{conf}"),
    "unparseable": ("cannot be parsed", "{conf}"),
    "placement-auth-unknown": ("[placement] auth_type", "nosuch", "{conf}"),
    "placement-auth-incomplete": ("[placement] auth", "auth_url", "{conf}"),
    "missing-file": ("config file not found", "{conf}"),
    "directory": ("config file '{conf}' (--config-file) cannot be read",
                  "a directory"),
    "empty-name": ("config file '' (--config-file) cannot be read",
                   "empty file name"),
    "binary": ("config file '{conf}' (--config-file) cannot be read",
               "not a text file"),
    "device": ("config file '/dev/zero' (--config-file) cannot be read",
               "not a regular file"),
    "fifo": ("config file '{conf}' (--config-file) cannot be read",
             "not a regular file"),
}

MANAGE_ONLY = ["no-file", "no-database"]
DATABASE_CONFS = ["junk-url", "unknown-kind", "driver-missing",
                  "sqlite-missing", "not-api-db", "bad-operators",
                  "bad-virt-type", "bad-substitution", "unparseable",
                  "missing-file", *UNREADABLE_FILES]

CASES = (
    # every nova-hwabi-manage command, with no database configured
    [pytest.param("nova-hwabi-manage", args, conf, CONFIG,
                  id="manage-%s-%s" % (name, conf))
     for name, args in MANAGE_COMMANDS.items() for conf in MANAGE_ONLY]
    # every way [api_database] connection or a file can be wrong
    + [pytest.param("nova-hwabi-manage", MANAGE_COMMANDS["list-unset"],
                    conf, CONFIG, id="manage-list-unset-%s" % conf)
       for conf in DATABASE_CONFS]
    + [pytest.param("nova-hwabi-status", STATUS, conf, CONFIG,
                    id="status-%s" % conf)
       for conf in MANAGE_ONLY + DATABASE_CONFS]
    + [
        pytest.param("nova-hwabi-report", SYNC, "no-file", 5,
                     id="report-sync-no-file"),
        pytest.param("nova-hwabi-report", SYNC, "no-database", 5,
                     id="report-sync-no-placement"),
        pytest.param("nova-hwabi-report", SYNC, "placement-auth-unknown",
                     5, id="report-sync-auth-unknown"),
        pytest.param("nova-hwabi-report", SYNC, "placement-auth-incomplete",
                     5, id="report-sync-auth-incomplete"),
        pytest.param("nova-hwabi-report", SYNC[1:], "bad-xml-bytes", 2,
                     id="report-bad-value"),
        pytest.param("nova-hwabi-report", SYNC[1:], "bad-virt-type", 2,
                     id="report-bad-nova-value"),
        pytest.param("nova-hwabi-report", SYNC[1:], "bad-substitution", 2,
                     id="report-bad-substitution"),
        pytest.param("nova-hwabi-report", SYNC[1:], "unparseable", 2,
                     id="report-unparseable"),
        pytest.param("nova-hwabi-report", SYNC[1:], "missing-file", 2,
                     id="report-missing-file"),
    ]
    # a --config-file that cannot be read as text, for the other commands
    + [pytest.param("nova-hwabi-manage", MANAGE_COMMANDS["get"], conf,
                    CONFIG, id="manage-get-%s" % conf)
       for conf in UNREADABLE_FILES]
    + [pytest.param("nova-hwabi-report", ["--list-samples"], conf, 2,
                    id="report-list-samples-%s" % conf)
       for conf in UNREADABLE_FILES]
)

# nova-hwabi-report reads no database: without [placement] it names that.
_SAYS_PLACEMENT_UNSET = ("[placement] auth_type is not set",)


def _says(prog: str, conf_name: str) -> tuple[str, ...]:
    if prog == "nova-hwabi-report" and conf_name in ("no-file",
                                                     "no-database"):
        return _SAYS_PLACEMENT_UNSET + SAYS[conf_name][1:]
    return SAYS[conf_name]


def _run(tmp_path: Path, prog: str, args: list[str], conf_name: str):
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "empty.db").touch()
    sqlite3.connect(tmp_path / "empty.db").close()
    conf = tmp_path / "nova.conf"
    command = [str(BIN / prog)]
    if conf_name in UNREADABLE_FILES:
        given = UNREADABLE_FILES[conf_name](tmp_path)
        command += ["--config-file", given]
        env = dict(os.environ, HOME=str(home))
        return subprocess.run(command + args, cwd=home, env=env,
                              capture_output=True, text=True,
                              timeout=300), given
    text = CONFS[conf_name]
    if text is not None:
        if conf_name != "missing-file":
            conf.write_text(text.format(dir=tmp_path))
        command += ["--config-file", str(conf)]
    env = dict(os.environ, HOME=str(home))
    result = subprocess.run(command + args, cwd=home, env=env,
                            capture_output=True, text=True, timeout=300)
    return result, str(conf)


@pytest.mark.parametrize("prog, args, conf_name, code", CASES)
def test_unusable_configuration_is_one_line(tmp_path, prog, args,
                                            conf_name, code):
    result, conf = _run(tmp_path, prog, args, conf_name)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr + result.stdout
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("%s: error: " % prog), line
    for text in _says(prog, conf_name):
        assert text.format(conf=conf) in line, (text, line)
    assert "pw@" not in line  # passwords are never printed
    assert result.stdout == ""
    assert result.returncode == code, line


@pytest.mark.parametrize("prog", ["nova-hwabi-scheduler", "nova-hwabi-demo",
                                  "nova-hwabi-manage", "nova-hwabi-status",
                                  "nova-hwabi-report"])
def test_help_needs_no_configuration(tmp_path, prog):
    home = tmp_path / "home"
    home.mkdir()
    result = subprocess.run([str(BIN / prog), "--help"], cwd=home,
                            env=dict(os.environ, HOME=str(home)),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "usage: %s" % prog in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("argv", [
    ["nova-hwabi-manage", "machine-type", "update", "--help"],
    ["nova-hwabi-manage", "image-property", "set", "--help"],
    ["nova-hwabi-status", "upgrade", "--help"],
    ["nova-hwabi-report", "--help"],
])
def test_help_ends_with_the_exit_codes(tmp_path, argv):
    """The console scripts print the generated list (the codes themselves
    are checked against the tables in tests/unit/test_cli_exit_codes.py)."""
    result = subprocess.run([str(BIN / argv[0]), *argv[1:]], cwd=tmp_path,
                            env=dict(os.environ, HOME=str(tmp_path)),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    codes = result.stdout.split("\nexit codes:\n", 1)[1]
    assert codes.startswith("  0   ")
    if argv[0] != "nova-hwabi-report":
        assert "\n  78  the configuration cannot be used" in codes


def test_every_manage_command_is_covered():
    """A new nova-hwabi-manage command must get a row above."""
    import argparse

    from nova_hwabi.cmd import manage

    parser = argparse.ArgumentParser()
    manage._add_command_parsers(parser.add_subparsers())
    leaves = set()
    for category, sub in parser._subparsers._group_actions[0].choices.items():
        for action in sub._subparsers._group_actions[0].choices:
            leaves.add((category, action))
    covered = {tuple(args[:2]) for args in MANAGE_COMMANDS.values()}
    assert leaves == covered

