"""machine-type transition on Nova's own databases (API, cell0, 2 cells).

In-process with nova.test.TestCase and Nova's objects, as
test_machine_type_records.py: instances in both cells with recorded and
pinned machine types, RequestSpecs in the API database. Proven:

* a versioned range selects by pinned or recorded type, across both
  cells, cell by cell in creation order, leaving out other families,
  variants, versions, building and deleted instances;
* stopped/shelved/offloaded instances are written as ``update`` writes
  them (record, pin, RequestSpec image); active ones are reported as
  needing a stop and left alone; refused ones are left alone;
* an instance that cannot be updated (no API mapping) fails alone;
* a re-run writes nothing; stopping the active one and re-running moves
  only it; ``--limit`` pages with ``next_marker`` walk the same rows as
  one run, and so do plain instance UUIDs as markers; malformed and
  unknown markers are refused; ``--dry-run`` writes nothing;
  ``cell_uuid`` restricts;
* the instance's architecture (recorded ``hw_architecture``, else the
  default) and what hosts offer refuse a target as ``update`` does.
"""

import ddt
import pytest
from nova import context as nova_context
from nova import objects, test

from nova_hwabi.machine_type import listings, names, sysmeta
from nova_hwabi.machine_type import transition as tr
from nova_hwabi.testing import fixtures as hwabi_fixtures


def _uuid(number: int) -> str:
    return "00000000-0000-4000-8000-%012d" % number


# number: (cell, vm_state, recorded, pinned)
STOPPED_OLD, OFFLOADED_OLD, ACTIVE_OLD, ALIAS_PINNED_OLD = 10, 11, 12, 13
NO_SPEC, NO_MAPPING = 14, 15
NEWER, OTHER_FAMILY, OTHER_VARIANT, BUILDING, DELETED = 20, 21, 22, 23, 24
INSTANCES = {
    STOPPED_OLD: ("cell1", "stopped", "pc-q35-2.12", "pc-q35-2.12"),
    OFFLOADED_OLD: ("cell2", "shelved_offloaded", "pc-q35-4.2",
                    "pc-q35-4.2"),
    ACTIVE_OLD: ("cell1", "active", "pc-q35-3.1", "pc-q35-3.1"),
    ALIAS_PINNED_OLD: ("cell2", "stopped", "q35", "pc-q35-4.0"),
    NO_SPEC: ("cell2", "stopped", "pc-q35-2.5", "pc-q35-2.5"),
    NO_MAPPING: ("cell1", "stopped", "pc-q35-2.6", "pc-q35-2.6"),
    NEWER: ("cell2", "stopped", "pc-q35-5.0", "pc-q35-5.0"),
    OTHER_FAMILY: ("cell1", "stopped", "pc-i440fx-3.0", "pc-i440fx-3.0"),
    OTHER_VARIANT: ("cell1", "stopped", "pc-q35-rhel4.0.0", None),
    BUILDING: ("cell2", "building", "pc-q35-3.0", None),
    DELETED: ("cell1", "stopped", "pc-q35-3.0", "pc-q35-3.0"),
}
SELECTED_NUMBERS = (STOPPED_OLD, OFFLOADED_OLD, ACTIVE_OLD,
                    ALIAS_PINNED_OLD, NO_SPEC, NO_MAPPING)
RANGE = tr.parse_pattern("pc-q35-2.0..pc-q35-4.2")
TARGET = names.parse_machine_type("pc-q35-7.2")


@ddt.ddt
class TestTransition(test.TestCase):

    NUMBER_OF_CELLS = 2

    def setUp(self):
        super().setUp()
        self.useFixture(hwabi_fixtures.IgnoreNoloadDeprecation())
        self.context = nova_context.get_admin_context()
        for number, (cell, state, recorded, pinned) in INSTANCES.items():
            self._create(number, cell, state, recorded, pinned)
        with self._cell(DELETED) as cctxt:
            objects.Instance.get_by_uuid(cctxt, _uuid(DELETED)).destroy()

    def _cell(self, number):
        return nova_context.target_cell(
            self.context, self.cell_mappings[INSTANCES[number][0]])

    def _create(self, number, cell_name, vm_state, recorded, pinned):
        metadata = {sysmeta.RECORDED_KEY: recorded}
        if pinned:
            metadata[sysmeta.PINNED_KEY] = pinned
        with self._cell(number) as cctxt:
            objects.Instance(
                context=cctxt, uuid=_uuid(number), vm_state=vm_state,
                host="host-" + cell_name,
                project_id="p", user_id="u", system_metadata=metadata,
            ).create()
        if number == NO_MAPPING:
            return
        objects.InstanceMapping(
            context=self.context, instance_uuid=_uuid(number),
            cell_mapping=self.cell_mappings[cell_name], project_id="p",
        ).create()
        if number == NO_SPEC:
            return
        objects.RequestSpec(
            context=self.context, instance_uuid=_uuid(number),
            flavor=objects.Flavor(
                id=1, flavorid="1", name="f", memory_mb=512, vcpus=1,
                root_gb=1, ephemeral_gb=0, swap=0, extra_specs={}),
            image=objects.ImageMeta.from_dict({"properties": {
                "hw_machine_type": recorded}}),
            project_id="p", user_id="u", num_instances=1,
            instance_group=None,
            pci_requests=objects.InstancePCIRequests(requests=[]),
        ).create()

    # -- read back through Nova's objects --

    def _metadata(self, number):
        with self._cell(number) as cctxt:
            return dict(objects.Instance.get_by_uuid(
                cctxt, _uuid(number),
                expected_attrs=["system_metadata"]).system_metadata)

    def _spec_type(self, number):
        spec = objects.RequestSpec.get_by_instance_uuid(
            self.context, _uuid(number))
        return spec.image.properties.get("hw_machine_type")

    def _all_metadata(self):
        return {number: self._metadata(number) for number in INSTANCES
                if number != DELETED}

    def _selected(self):
        """SELECTED_NUMBERS as a run walks them: cells by UUID, each in
        creation order (INSTANCES' order)."""
        created = list(INSTANCES)
        return [_uuid(n) for n in sorted(SELECTED_NUMBERS, key=lambda n: (
            self.cell_mappings[INSTANCES[n][0]].uuid, created.index(n)))]

    def _set_arch(self, number, arch):
        with self._cell(number) as cctxt:
            instance = objects.Instance.get_by_uuid(
                cctxt, _uuid(number), expected_attrs=["system_metadata"])
            instance.system_metadata[sysmeta.ARCH_KEY] = arch
            instance.save()

    def _run(self, pattern=RANGE, target=TARGET, **kwargs):
        return listings.transition(self.context, pattern, target, **kwargs)

    @staticmethod
    def _outcomes(result):
        return {row.uuid: row.outcome for row in result.rows}

    # -- tests --

    def test_updates_stopped_lists_active_fails_alone(self):
        result = self._run()
        assert [row.uuid for row in result.rows] == self._selected()
        assert result.next_marker is None
        assert self._outcomes(result) == {
            _uuid(STOPPED_OLD): tr.UPDATED,
            _uuid(OFFLOADED_OLD): tr.UPDATED,
            _uuid(ALIAS_PINNED_OLD): tr.UPDATED,
            _uuid(NO_SPEC): tr.UPDATED,
            _uuid(ACTIVE_OLD): tr.NEEDS_STOP,
            _uuid(NO_MAPPING): tr.FAILED,
        }
        for number in (STOPPED_OLD, OFFLOADED_OLD, ALIAS_PINNED_OLD,
                       NO_SPEC):
            metadata = self._metadata(number)
            assert metadata[sysmeta.RECORDED_KEY] == "pc-q35-7.2"
            assert metadata[sysmeta.PINNED_KEY] == "pc-q35-7.2"
        for number in (STOPPED_OLD, OFFLOADED_OLD, ALIAS_PINNED_OLD):
            assert self._spec_type(number) == "pc-q35-7.2"
        # Left alone: active, failed, and everything not selected.
        for number in (ACTIVE_OLD, NO_MAPPING, NEWER, OTHER_FAMILY,
                       OTHER_VARIANT, BUILDING):
            recorded = INSTANCES[number][2]
            assert self._metadata(number)[sysmeta.RECORDED_KEY] == recorded
        assert self._spec_type(ACTIVE_OLD) == "pc-q35-3.1"
        failed = next(row for row in result.rows
                      if row.outcome == tr.FAILED)
        assert "UnknownInstanceError" in failed.reason
        assert "\n" not in failed.reason

    def test_rerun_writes_nothing_and_resumes_after_a_stop(self):
        self._run()
        before = self._all_metadata()
        again = self._run()
        assert self._all_metadata() == before
        # Moved ones no longer match the range: only the rest is seen.
        assert self._outcomes(again) == {_uuid(ACTIVE_OLD): tr.NEEDS_STOP,
                                         _uuid(NO_MAPPING): tr.FAILED}
        with self._cell(ACTIVE_OLD) as cctxt:
            instance = objects.Instance.get_by_uuid(cctxt, _uuid(ACTIVE_OLD))
            instance.vm_state = "stopped"
            instance.save()
        third = self._run()
        assert self._outcomes(third)[_uuid(ACTIVE_OLD)] == tr.UPDATED
        assert self._spec_type(ACTIVE_OLD) == "pc-q35-7.2"

    def test_target_inside_the_pattern_is_unchanged_on_rerun(self):
        pattern = tr.parse_pattern("pc-q35-[2-7].*")
        first = self._outcomes(self._run(pattern))
        assert first[_uuid(STOPPED_OLD)] == tr.UPDATED
        # pc-q35-5.0 is selected too and is moved forwards.
        assert first[_uuid(NEWER)] == tr.UPDATED
        before = self._all_metadata()
        second = self._outcomes(self._run(pattern))
        assert self._all_metadata() == before
        assert second[_uuid(STOPPED_OLD)] == tr.UNCHANGED
        assert second[_uuid(NEWER)] == tr.UNCHANGED

    def test_downgrades_and_other_families_are_refused(self):
        result = self._run(tr.parse_pattern("pc-*"),
                           names.parse_machine_type("pc-q35-4.0"))
        outcomes = self._outcomes(result)
        assert outcomes[_uuid(NEWER)] == tr.REFUSED
        assert outcomes[_uuid(OTHER_FAMILY)] == tr.REFUSED
        assert outcomes[_uuid(OTHER_VARIANT)] == tr.REFUSED
        # Pinned to the target already, but recorded as the alias q35:
        # the record becomes the versioned type.
        assert outcomes[_uuid(ALIAS_PINNED_OLD)] == tr.UPDATED
        assert self._metadata(NEWER)[sysmeta.RECORDED_KEY] == "pc-q35-5.0"
        assert (self._metadata(OTHER_FAMILY)[sysmeta.RECORDED_KEY]
                == "pc-i440fx-3.0")

    def test_pages_walk_the_same_rows_as_one_run(self):
        seen, marker, pages = [], None, 0
        while True:
            result = self._run(limit=2, marker=marker, dry_run=True)
            pages += 1
            assert len(result.rows) <= 2
            seen.extend(row.uuid for row in result.rows)
            marker = result.next_marker
            if marker is None:
                break
            assert marker.startswith(result.rows[-1].cell + ":")
        assert seen == self._selected()
        assert pages == 3  # 6 selected: 2 + 2 + 2, the last without marker

    def test_limit_then_resume_updates_everything_once(self):
        first = self._run(limit=3)
        second = self._run(limit=3, marker=first.next_marker)
        rows = first.rows + second.rows
        assert [row.uuid for row in rows] == self._selected()
        assert self._metadata(NO_SPEC)[sysmeta.RECORDED_KEY] == "pc-q35-7.2"

    def test_dry_run_writes_nothing(self):
        before = self._all_metadata()
        result = self._run(dry_run=True)
        assert self._all_metadata() == before
        assert self._outcomes(result)[_uuid(STOPPED_OLD)] == tr.WOULD_UPDATE
        # Nothing is looked up or written: the unmapped one would update.
        assert self._outcomes(result)[_uuid(NO_MAPPING)] == tr.WOULD_UPDATE
        assert self._spec_type(STOPPED_OLD) == "pc-q35-2.12"

    def test_cell_uuid_restricts(self):
        cell2 = self.cell_mappings["cell2"].uuid
        result = self._run(cell_uuid=cell2)
        assert {row.cell for row in result.rows} == {cell2}
        assert sorted(self._outcomes(result)) == sorted(
            _uuid(n) for n in (OFFLOADED_OLD, ALIAS_PINNED_OLD, NO_SPEC))
        assert self._metadata(STOPPED_OLD)[sysmeta.RECORDED_KEY] == (
            "pc-q35-2.12")

    def test_unknown_cell(self):
        self.assertRaises(listings.UnknownCellError, self._run,
                          cell_uuid="99999999-0000-4000-8000-000000000000")

    def test_instance_uuid_markers_resume_after_that_instance(self):
        # nova-manage's way: the UUID of the last instance listed; the
        # unmapped instance too (found in its cell, not through the API
        # database).
        selected = self._selected()
        for index, uuid in enumerate(selected):
            result = self._run(marker=uuid, dry_run=True)
            assert [row.uuid for row in result.rows] == selected[index + 1:]

    @ddt.data(
        ("not-a-uuid", "neither an instance UUID nor a marker"),
        (_uuid(999), "no such instance in the cell"),
        ("12345678-1234-4234-8234-123456789012:x", "is malformed"),
        ("12345678:7", "is malformed"),
        (":7", "is malformed"),
        ("99999999-0000-4000-8000-000000000000:7",
         "which this listing does not walk"),
    )
    @ddt.unpack
    def test_bad_markers_are_refused(self, marker, why):
        before = self._all_metadata()
        with pytest.raises(listings.InvalidMarkerError, match=why):
            self._run(marker=marker)
        assert self._all_metadata() == before

    def test_marker_of_another_cell_is_refused_with_cell_uuid(self):
        first = self._run(limit=1, dry_run=True)
        cell = first.rows[0].cell
        other = next(mapping.uuid for name, mapping in
                     self.cell_mappings.items()
                     if name in ("cell1", "cell2") and mapping.uuid != cell)
        with pytest.raises(listings.InvalidMarkerError, match="--cell-uuid"):
            self._run(marker=first.next_marker, cell_uuid=other)
        with pytest.raises(listings.InvalidMarkerError, match="no such"):
            self._run(marker=first.rows[0].uuid, cell_uuid=other)

    @ddt.data(
        # hw_architecture of STOPPED_OLD, what hosts offer, refused because
        (None, None, None),
        ("aarch64", None, "it is a machine of i686, x86_64"),
        (None, set(), "no compute host reporting its x86_64"),
        (None, {"pc-q35-7.2"}, None),
    )
    @ddt.unpack
    def test_architecture_and_hosts_decide_as_for_update(self, arch,
                                                         offered, why):
        if arch:
            self._set_arch(STOPPED_OLD, arch)
        asked = []

        def offered_for(asked_arch, machine_type):
            asked.append((asked_arch, machine_type))
            return offered

        for dry_run in (True, False):
            result = self._run(dry_run=dry_run, offered_for=offered_for)
            if dry_run:
                # Once per architecture, not once per instance.
                assert sorted(asked) == sorted(set(asked))
            row = next(row for row in result.rows
                       if row.uuid == _uuid(STOPPED_OLD))
            if why:
                assert row.outcome == tr.REFUSED
                assert why in row.reason
            else:
                assert row.outcome == (tr.WOULD_UPDATE if dry_run
                                       else tr.UPDATED)
        recorded = self._metadata(STOPPED_OLD)[sysmeta.RECORDED_KEY]
        assert recorded == ("pc-q35-2.12" if why else "pc-q35-7.2")
        assert (arch or "x86_64", "pc-q35-7.2") in asked
