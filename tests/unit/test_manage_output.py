"""nova-hwabi-manage's table output shows values, never Python dicts; the
shared printer (cli.Output) and help text."""

import argparse

import pytest

from nova_hwabi.cmd import cli, manage
from nova_hwabi.machine_type import records

UUID = "5d4f0b1e-7c0e-4a8e-9c4b-2f6a1d9e8c11"


@pytest.fixture
def stored(monkeypatch):
    """set_image_properties answering as it does after a real change."""
    def set_image_properties(ctxt, uuid, changes):
        previous = {"hw_disk_bus": "ide"}
        return {name: (previous.get(name), value)
                for name, value in changes.items()}
    monkeypatch.setattr(records, "set_image_properties",
                        set_image_properties)
    monkeypatch.setattr(manage, "_unoffered_warnings",
                        lambda conf, values: [])


def test_set_table_shows_previous_and_new(stored, capsys):
    args = argparse.Namespace(
        instance_uuid=UUID, format="table", conf=None,
        property=["hw_disk_bus=sata", "hw_vif_model=e1000"])
    assert manage.image_property_set(None, args) == manage.ChangeExit.OK
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(None, 1) for line in lines] == [
        ["instance", UUID],
        ["hw_disk_bus", "ide -> sata"],
        ["hw_vif_model", "- -> e1000"],
    ]


def test_unset_table_says_unset(stored, capsys):
    args = argparse.Namespace(instance_uuid=UUID, format="table",
                              conf=None, properties=["hw_disk_bus"])
    assert manage.image_property_unset(None, args) == manage.ChangeExit.OK
    out = capsys.readouterr().out
    assert "hw_disk_bus          ide -> - (unset)" in out
    assert "{" not in out


# -- cli.Output, the printer every command uses ---------------------------

@pytest.mark.parametrize(("fmt", "sort_keys", "expected"), [
    ("json", True, '{\n  "a": null,\n  "b": 1\n}\n'),
    ("json", False, '{\n  "b": 1,\n  "a": null\n}\n'),
    ("table", True, "%-20s 1\n%-20s -\n" % ("b", "a")),
])
def test_output_of_a_mapping(capsys, fmt, sort_keys, expected):
    cli.Output(fmt, sort_keys=sort_keys).emit({"b": 1, "a": None})
    assert capsys.readouterr().out == expected


def test_output_table_lines_are_printed_as_given(capsys):
    cli.Output("table").emit([{"x": 1}], ("line %d" % n for n in (1, 2)))
    assert capsys.readouterr().out == "line 1\nline 2\n"


def test_output_json_ignores_the_table(capsys):
    cli.Output("json").emit([{"b": 1, "a": 2}], iter(["never"]))
    assert capsys.readouterr().out == (
        '[\n  {\n    "a": 2,\n    "b": 1\n  }\n]\n')


def test_output_table_of_a_list_needs_lines():
    with pytest.raises(TypeError, match="a table needs lines or a dict"):
        cli.Output("table").emit([1, 2])


def test_help_description_is_the_docstring_rewrapped():
    text = cli.paragraphs(manage.machine_type_update.__doc__)
    paragraphs = text.split("\n\n")
    assert paragraphs[0] == ("Record or change the machine type of a "
                             "stopped or shelved instance.")
    assert len(paragraphs) == 2
    assert all(len(line) <= 78 for line in text.splitlines())
