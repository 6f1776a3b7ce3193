"""What the admin commands say when a config file or a cell's database
cannot be read (one line, naming it; see tests/functional/
test_config_errors.py and test_manage_cli.py for the commands)."""

import sqlite3
from unittest import mock

import pytest
from oslo_db import exception as db_exception
from sqlalchemy import exc as sa_exception

from nova_hwabi.conf import sources
from nova_hwabi.machine_type import records

CELL_UUID = "22222222-0000-4000-8000-000000000001"


def _binary(tmp_path):
    path = tmp_path / "nova.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE instances (id INTEGER)")
    connection.close()
    return str(path)


@pytest.mark.parametrize("given, says", [
    (lambda tmp: str(tmp), "it is a directory, not a file"),
    (lambda tmp: "", "it is an empty file name"),
    (_binary, "it is not a text file (byte "),
])
@pytest.mark.parametrize("spelling", ["separate", "equals"])
def test_unreadable_config_file_is_named(tmp_path, given, says, spelling):
    good = tmp_path / "good.conf"
    good.write_text("[DEFAULT]\n")
    path = given(tmp_path)
    argv = ["--config-file", str(good)] + (
        ["--config-file", path] if spelling == "separate"
        else ["--config-file=" + path]) + ["machine-type", "get", "x"]
    line = sources.unreadable_file_error(argv, IsADirectoryError(21, "x"))
    assert line.startswith("config file %r (--config-file) cannot be read"
                           % path), line
    assert says in line
    assert "\n" not in line


def test_unreadable_file_found_elsewhere_names_what_oslo_said():
    exc = IsADirectoryError(21, "Is a directory", "/etc/nova/nova.conf")
    line = sources.unreadable_file_error(["upgrade", "check"], exc)
    assert line.startswith("a config file (/etc/nova/nova.conf) cannot be "
                           "read: ")


def _cell(name="cell9"):
    cell = mock.Mock(spec=["name", "uuid", "obj_attr_is_set"])
    cell.name, cell.uuid = name, CELL_UUID
    cell.obj_attr_is_set.return_value = name is not None
    return cell


@pytest.mark.parametrize("raised, says", [
    (ModuleNotFoundError("No module named 'pymysql'", name="pymysql"),
     "needs the Python database driver pymysql, which is not installed"),
    (db_exception.DBNonExistentTable("instances"),
     "it has no instances table: not a Nova cell database"),
    (db_exception.DBConnectionError(Exception("Connection refused\nmore")),
     "cannot connect: Connection refused"),
    (sa_exception.ArgumentError("Could not parse SQLAlchemy URL"),
     "ArgumentError: Could not parse SQLAlchemy URL"),
], ids=["driver-missing", "no-tables", "unreachable", "bad-url"])
def test_unreadable_cell_is_one_line_naming_it(raised, says):
    with pytest.raises(records.CellDatabaseError) as caught, \
            records.reading_cell(_cell()):
        raise raised
    line = str(caught.value)
    assert line.startswith("cannot read the database of cell 'cell9' (%s): "
                           % CELL_UUID), line
    assert says in line
    assert ("nova-manage cell_v2 update_cell --cell_uuid %s" % CELL_UUID
            in line)
    assert "\n" not in line
    assert caught.value.to_dict() == {"cell": CELL_UUID, "name": "cell9",
                                      "error": line}


def test_unnamed_cell_is_named_by_its_uuid():
    with pytest.raises(records.CellDatabaseError) as caught, \
            records.reading_cell(_cell(name=None)):
        raise db_exception.DBNonExistentTable("instances")
    assert str(caught.value).startswith(
        "cannot read the database of cell %s: " % CELL_UUID)


@pytest.mark.parametrize("raised", [ValueError("a bug"),
                                    KeyError("instances")])
def test_other_errors_are_not_taken_for_a_cell_problem(raised):
    with pytest.raises(type(raised)), records.reading_cell(_cell()):
        raise raised
