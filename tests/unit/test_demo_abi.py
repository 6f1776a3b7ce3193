"""The demo's second act: its guests, verdicts and drift expectations."""

import pytest

from nova_hwabi.demo import abi


@pytest.mark.parametrize(("running", "following", "verdict"), [
    ("pc-i440fx-7.2", "pc-i440fx-7.2", "keeps its chipset"),
    ("pc-q35-6.2", "pc-q35-7.2", "CHANGES version pc-q35-6.2 -> pc-q35-7.2"),
    ("pc-i440fx-7.2", "pc-q35-7.2", "CHANGES chipset i440fx -> q35"),
])
def test_verdict(running, following, verdict):
    assert abi._verdict(running, following) == verdict


@pytest.mark.parametrize(("found", "expected", "as_expected"), [
    ([], (), True),
    (["no machine type recorded: ..."], (), False),
    ([], ("no machine type recorded",), False),
    (["no machine type recorded: ..."], ("no machine type recorded",), True),
    (["no machine type recorded: ...", "pinned x but the guest runs y"],
     ("no machine type recorded",), False),
])
def test_drift_expectations(found, expected, as_expected):
    assert abi._drift_as_expected(found, expected) is as_expected


@pytest.mark.parametrize("guest", abi.GUESTS, ids=lambda g: g.name)
def test_each_guest_gets_its_own_domain(guest):
    domain = abi.sample_domain(guest)
    assert domain.uuid == abi._instance_uuid(guest.name)
    assert domain.name == guest.name
    assert domain.machine == (guest.running or domain.machine)
    assert domain.arch == abi.ARCH


def test_guest_uuids_are_distinct():
    assert len({abi._instance_uuid(g.name) for g in abi.GUESTS}) == len(
        abi.GUESTS)
