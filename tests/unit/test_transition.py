"""Transition patterns and per-instance outcomes (no Nova, no database)."""

import pytest

from nova_hwabi.machine_type import names
from nova_hwabi.machine_type import transition as tr


@pytest.mark.parametrize("pattern, name, selected", [
    # Globs: whole-name, case-sensitive, shell wildcards.
    ("pc-i440fx-*", "pc-i440fx-2.11", True),
    ("pc-i440fx-*", "pc-i440fx-rhel7.6.0", True),
    ("pc-i440fx-*", "pc-q35-2.11", False),
    ("pc-i440fx-*", "pc", False),
    ("pc", "pc", True),
    ("pc", "pc-i440fx-7.2", False),
    ("pc-q35-?.2", "pc-q35-7.2", True),
    ("pc-q35-?.2", "pc-q35-10.2", False),
    ("pc-q35-[45].*", "pc-q35-4.2", True),
    ("pc-q35-[!45].*", "pc-q35-4.2", False),
    ("*rhel*", "pc-q35-rhel9.6.0", True),
    ("pc-q35-7.2", "pc-q35-7.2", True),
    ("pc-q35-7.2", "pc-q35-7.2-junk", False),
    # Ranges: inclusive, numeric, one family/variant/flavour.
    ("pc-q35-2.0..pc-q35-4.2", "pc-q35-2.0", True),
    ("pc-q35-2.0..pc-q35-4.2", "pc-q35-2.12", True),
    ("pc-q35-2.0..pc-q35-4.2", "pc-q35-4.2", True),
    ("pc-q35-2.0..pc-q35-4.2", "pc-q35-4.10", False),
    ("pc-q35-2.0..pc-q35-4.2", "pc-q35-5.0", False),
    ("pc-q35-2.0..pc-q35-4.2", "pc-i440fx-3.0", False),
    ("pc-q35-2.0..pc-q35-4.2", "pc-q35-rhel3.0.0", False),
    ("pc-q35-2.0..pc-q35-4.2", "q35", False),
    ("pc-q35-2.0..pc-q35-4.2", "pc-q35-5x2junk", False),
    ("..pc-q35-4.2", "pc-q35-1.4", True),
    ("..pc-q35-4.2", "pc-q35-7.2", False),
    ("pc-q35-7.0..", "pc-q35-9.2", True),
    ("pc-q35-7.0..", "pc-q35-6.2", False),
    ("pc-i440fx-1.4..pc-i440fx-2.0", "pc-1.3", False),
    ("pc-i440fx-1.0..pc-i440fx-2.0", "pc-1.3", True),
    ("pc-q35-jammy..pc-q35-noble", "pc-q35-mantic", True),
    ("pc-q35-jammy..pc-q35-noble", "pc-q35-mantic-hpb", False),
    ("pc-q35-jammy-hpb..pc-q35-noble-hpb", "pc-q35-mantic-hpb", True),
    ("pc-q35-rhel8.0.0..pc-q35-rhel9.6.0", "pc-q35-rhel9.4.0", True),
    ("pc-q35-rhel8.0.0..pc-q35-rhel9.6.0", "pc-q35-9.0", False),
])
def test_pattern_matches(pattern, name, selected):
    assert tr.parse_pattern(pattern).matches(name) is selected


@pytest.mark.parametrize("pattern, name, selected", [
    # QEMU's upper-case boards; matching stays case-sensitive.
    ("SS-*", "SS-5", True), ("ss-*", "SS-5", False),
    ("PC-*", "pc-q35-7.2", False), ("pc-q35-[!4]*", "pc-q35-7.2", True),
])
def test_globs_match_case_sensitively(pattern, name, selected):
    assert tr.parse_pattern(pattern).matches(name) is selected


@pytest.mark.parametrize("pattern, message", [
    ("", "--from is empty"),
    ("   ", "--from is empty"),
    ("pc q35", "a glob uses"),
    ("pc-q35-*;drop", "a glob uses"),
    ("[", "no closing ']'"),
    ("pc-q35-[", "no closing ']'"),
    ("pc-q35-[7", "no closing ']'"),
    ("pc-q35-[]", "empty or nested"),
    ("pc-q35-[!]", "empty or nested"),
    ("pc-q35-[[7]", "empty or nested"),
    ("pc-q35-7.2]", "no opening '['"),
    ("..", "one '..'"),
    ("pc-q35-2.0..pc-q35-3.0..pc-q35-4.0", "one '..'"),
    ("q35..pc-q35-4.2", "has no version"),
    ("pc-q35-2.0..q35", "has no version"),
    ("pc-q35-4.2..pc-q35-2.0", "newer than"),
    ("pc-q35-2.0..pc-i440fx-4.2", "different families"),
    ("pc-q35-2.0..pc-q35-rhel9.6.0", "different families or variants"),
    ("pc-q35-5x2junk..pc-q35-7.2", "first end"),
    ("pc-q35-jammy..pc-q35-noble-hpb", "flavour"),
])
def test_bad_patterns_say_how_to_write_one(pattern, message):
    with pytest.raises(tr.InvalidPattern) as caught:
        tr.parse_pattern(pattern)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("pattern, prefix", [
    ("pc-i440fx-*", "pc-i440fx-"), ("pc", "pc"), ("*rhel*", ""),
    ("pc-q35-[45].*", "pc-q35-"), ("pc-q35-2.0..pc-q35-4.2", ""),
])
def test_literal_prefix_for_sql(pattern, prefix):
    assert tr.parse_pattern(pattern).prefix == prefix


def _candidate(vm_state, recorded, pinned=None):
    return tr.Candidate("u", "c", vm_state, "h", recorded, pinned)


Q35_8 = names.parse_machine_type("pc-q35-8.2")


@pytest.mark.parametrize("vm_state, recorded, pinned, target, outcome, why", [
    ("stopped", "pc-q35-7.2", "pc-q35-7.2", Q35_8, tr.WOULD_UPDATE,
     "pc-q35-7.2 -> pc-q35-8.2"),
    ("shelved", "pc-q35-7.2", "pc-q35-7.2", Q35_8, tr.WOULD_UPDATE, ""),
    ("shelved_offloaded", "q35", None, Q35_8, tr.WOULD_UPDATE, ""),
    ("active", "pc-q35-7.2", "pc-q35-7.2", Q35_8, tr.NEEDS_STOP,
     "instance is active: stop or shelve it"),
    ("paused", "pc-q35-7.2", "pc-q35-7.2", Q35_8, tr.NEEDS_STOP, "paused"),
    ("error", "pc-q35-7.2", "pc-q35-7.2", Q35_8, tr.NEEDS_STOP, "error"),
    # The rules come before the state: no point stopping a refused one.
    ("active", "pc-i440fx-7.2", "pc-i440fx-7.2", Q35_8, tr.REFUSED,
     "machine family from i440fx to q35"),
    ("stopped", "pc-q35-9.0", "pc-q35-9.0", Q35_8, tr.REFUSED,
     "downgrade"),
    # Recorded as the alias, pinned newer: the pin decides (no downgrade).
    ("stopped", "q35", "pc-q35-9.0", Q35_8, tr.REFUSED, "downgrade"),
    ("stopped", "pc-q35-rhel9.6.0", None, Q35_8, tr.REFUSED, "variant"),
    ("stopped", "pc-q35-7.2", "pc-q35-7.2", names.parse_machine_type("q35"),
     tr.REFUSED, "unpins"),
    ("stopped", "pc-q35-5x2junk", None, Q35_8, tr.REFUSED,
     "cannot be checked"),
    # Done already: nothing to write, whatever the state.
    ("active", "pc-q35-8.2", "pc-q35-8.2", Q35_8, tr.UNCHANGED,
     "already pc-q35-8.2"),
    # Recorded but not pinned yet: still written, to pin it.
    ("stopped", "pc-q35-8.2", None, Q35_8, tr.WOULD_UPDATE, ""),
])
def test_plan_outcomes(vm_state, recorded, pinned, target, outcome, why):
    row = tr.plan(_candidate(vm_state, recorded, pinned), target)
    assert row.outcome == outcome
    assert why in row.reason
    assert row.current == (pinned or recorded)


@pytest.mark.parametrize("vm_state, arch, outcome", [
    # The architecture refuses before the state: no point stopping it.
    ("stopped", "aarch64", tr.REFUSED),
    ("active", "aarch64", tr.REFUSED),
    ("stopped", None, tr.WOULD_UPDATE),
    ("active", "x86_64", tr.NEEDS_STOP),
])
def test_plan_asks_the_architecture_check(vm_state, arch, outcome):
    from nova_hwabi.machine_type import arches

    asked = []

    def check_arch(candidate_arch):
        asked.append(candidate_arch)
        if candidate_arch == "aarch64":
            raise arches.MachineTypeArchError("not for aarch64")

    candidate = tr.Candidate("u", "c", vm_state, None, "pc-q35-7.2",
                             "pc-q35-7.2", arch)
    row = tr.plan(candidate, Q35_8, check_arch=check_arch)
    assert row.outcome == outcome
    assert asked == [arch]
    if outcome == tr.REFUSED:
        assert row.reason == "not for aarch64"
    # Refused by the update rules: the architecture is not asked.
    refused = tr.plan(tr.Candidate("u", "c", vm_state, None, "pc-q35-9.0",
                                   "pc-q35-9.0", arch), Q35_8,
                      check_arch=check_arch)
    assert refused.outcome == tr.REFUSED and asked == [arch]


def test_dry_run_says_nothing_is_written():
    row = tr.plan(_candidate("stopped", "pc-q35-7.2"), Q35_8, dry_run=True)
    assert row.outcome == tr.WOULD_UPDATE
    assert "dry run" in row.reason


def test_selection_uses_pin_or_record():
    pattern = tr.parse_pattern("pc-q35-7.*")
    assert _candidate("stopped", "q35", "pc-q35-7.2").selected_by(pattern)
    assert _candidate("stopped", "pc-q35-7.2").selected_by(pattern)
    assert not _candidate("stopped", "q35").selected_by(pattern)
    assert tr.parse_pattern("q35").matches("q35")


def test_summary_counts_every_outcome():
    rows = [tr.plan(_candidate("active", "pc-q35-7.2"), Q35_8),
            tr.plan(_candidate("stopped", "pc-q35-7.2"), Q35_8)]
    summary = tr.summarise(rows)
    assert set(summary) == set(tr.OUTCOMES)
    assert summary[tr.NEEDS_STOP] == 1 and summary[tr.WOULD_UPDATE] == 1
