"""nova-hwabi-manage's table output shows values, never Python dicts."""

import argparse

import pytest

from nova_hwabi.cmd import manage
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
