"""The drift audit's findings name what a redefinition would change."""

import pytest

from nova_hwabi.machine_type import recorder


@pytest.mark.parametrize(("recorded", "resolved", "running", "what"), [
    # Another family: the guest would boot on another chipset.
    ("pc", "pc-i440fx-8.2", "pc-q35-7.2", "would change its chipset"),
    # Same family, newer version: same chipset, another guest ABI.
    ("q35", "pc-q35-8.2", "pc-q35-7.2",
     "would change its machine type version (same chipset, another ABI)"),
    ("virt", "virt-8.2", "virt-7.2",
     "would change its machine type version"),
])
def test_finding_names_what_changes(recorded, resolved, running, what):
    findings = recorder._drift(recorded, None, running, resolved)
    assert len(findings) == 1
    assert what in findings[0]
    assert "update UUID %s" % running in findings[0]


def test_no_finding_when_the_record_resolves_to_what_runs():
    assert recorder._drift("q35", "pc-q35-7.2", "pc-q35-7.2",
                           "pc-q35-7.2") == []
