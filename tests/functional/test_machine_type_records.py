"""Machine-type and device-property records on Nova's own databases.

Proven in-process with nova.test.TestCase (API database, cell0, cell1,
cell2) and Nova's objects: InstanceMapping and RequestSpec in the API
database, Instance (with system_metadata) and ComputeNode in the cells.

* ``get_machine_type`` finds instances in either cell and names the
  missing ones (unknown UUID, mapping without a cell, mapping without an
  instance).
* ``update_machine_type`` allows stopped/shelved/shelved-offloaded
  instances only (even with ``force``), applies the update rules (family,
  downgrade, unpinning, variant) unless forced, never accepts junk, pins
  versioned types, and writes the value to system_metadata AND to the
  RequestSpec image (DESIGN defect 6: moves rebuild from it; upstream
  leaves it alone).
* ``list_unset`` lists only unrecorded, live, non-building instances on
  libvirt nodes or none, skips cell0, honours ``cell_uuid`` (DESIGN
  defect 7: upstream ignores it and lists ironic instances) and walks the
  cells one after the other, each in creation order: pages (a marker per
  cell, or a plain instance UUID) cut up that listing without duplicates
  or gaps; malformed and unknown markers are refused.
* ``set_image_properties`` only changes the ten device bus/model
  properties, checks values against the recorded machine type, writes
  nothing when any change is refused, and mirrors changes into the
  RequestSpec; upstream's ``image_property set`` (DESIGN defect 9) lets
  ``hw_machine_type`` and ``hw_cpu_policy`` through, misreports
  ``key=a=b`` and has no unset.
* DESIGN defect 8: upstream's patterns refuse real machine types and
  accept junk that then crashes its version comparison; ours is the
  reverse.
"""

import ddt
import pytest
from nova import context as nova_context
from nova import exception as nova_exception
from nova import objects, test
from nova.cmd import manage as nova_manage
from nova.virt.libvirt import machine_type_utils as upstream

from nova_hwabi.machine_type import (
    arches,
    devices,
    listings,
    names,
    records,
    updates,
)
from nova_hwabi.testing import fixtures as hwabi_fixtures


def _uuid(number: int) -> str:
    return "00000000-0000-4000-8000-%012d" % number


# Compute nodes per cell: (name, hypervisor_type). Nova's libvirt driver
# reports "QEMU" for QEMU and KVM alike.
NODES = {
    "cell1": (("qemu1", "QEMU"), ("ironic1", "ironic")),
    "cell2": (("qemu2", "QEMU"),),
}
NODE_UUIDS = {"qemu1": "aaaaaaaa-0000-4000-8000-000000000001",
              "ironic1": "aaaaaaaa-0000-4000-8000-000000000002",
              "qemu2": "aaaaaaaa-0000-4000-8000-000000000003"}

# Instances without a recorded machine type that list_unset must return,
# alternating between the cells so that paging has to merge them.
STOPPED_1, ACTIVE_2, OFFLOADED_1, STOPPED_2, ACTIVE_1, OFFLOADED_2 = (
    10, 12, 14, 16, 18, 20)
UNSET = {
    STOPPED_1: ("cell1", "stopped", "qemu1"),
    ACTIVE_2: ("cell2", "active", "qemu2"),
    OFFLOADED_1: ("cell1", "shelved_offloaded", None),
    STOPPED_2: ("cell2", "stopped", "qemu2"),
    ACTIVE_1: ("cell1", "active", "qemu1"),
    OFFLOADED_2: ("cell2", "shelved_offloaded", None),
}
UNSET_UUIDS = [_uuid(n) for n in sorted(UNSET)]

# Unrecorded instances list_unset must leave out, and why.
IRONIC, BUILDING, DELETED, IN_CELL0 = 60, 61, 62, 63
EXCLUDED = {
    IRONIC: ("cell1", "active", "ironic1"),
    BUILDING: ("cell2", "building", None),
    DELETED: ("cell1", "stopped", "qemu1"),
    IN_CELL0: ("cell0", "error", None),
}

# Instances with a recorded (and, if versioned, pinned) machine type.
ALIAS_Q35, PINNED_Q35, ACTIVE_Q35, SHELVED_PC, OFFLOADED_I440FX, IDE_PC = (
    30, 31, 32, 33, 34, 35)
RECORDED = {
    ALIAS_Q35: ("cell1", "stopped", "qemu1", "q35"),
    PINNED_Q35: ("cell2", "stopped", "qemu2", "pc-q35-7.2"),
    ACTIVE_Q35: ("cell1", "active", "qemu1", "pc-q35-7.2"),
    SHELVED_PC: ("cell2", "shelved", "qemu2", "pc"),
    OFFLOADED_I440FX: ("cell1", "shelved_offloaded", None, "pc-i440fx-7.2"),
    IDE_PC: ("cell2", "stopped", "qemu2", "pc-i440fx-7.2"),
}
# IDE_PC's image asked for IDE disks, which i440fx has.
IDE_PROPERTIES = {"hw_disk_bus": "ide"}

# A mapping whose instance is not scheduled to a cell yet, and one whose
# cell has no such instance.
UNMAPPED, MISSING_IN_CELL = 50, 51
# Stopped, unrecorded, and with no RequestSpec (old or broken records).
NO_SPEC = STOPPED_2


@ddt.ddt
class TestMachineTypeRecords(test.TestCase):
    """records.* and listings.* against two real cells plus cell0."""

    NUMBER_OF_CELLS = 2

    def setUp(self):
        super().setUp()
        self.useFixture(hwabi_fixtures.IgnoreNoloadDeprecation())
        self.context = nova_context.get_admin_context()
        self.assertEqual({"cell0", "cell1", "cell2"},
                         set(self.cell_mappings))
        self.node_ids = {}
        for cell_name, nodes in NODES.items():
            for name, hypervisor_type in nodes:
                self._create_node(cell_name, name, hypervisor_type)
        for number, (cell, state, node) in {**UNSET, **EXCLUDED}.items():
            self._create_instance(number, cell, state, node, {})
        for number, (cell, state, node, machine_type) in RECORDED.items():
            metadata = {records.RECORDED_KEY: machine_type}
            if names.parse_machine_type(machine_type).is_versioned:
                metadata[records.PINNED_KEY] = machine_type
            if number == IDE_PC:
                metadata.update({"image_" + key: value
                                 for key, value in IDE_PROPERTIES.items()})
            self._create_instance(number, cell, state, node, metadata)
        self._destroy(DELETED)
        objects.InstanceMapping(
            context=self.context, instance_uuid=_uuid(UNMAPPED),
            cell_mapping=None, project_id="p",
        ).create()
        objects.InstanceMapping(
            context=self.context, instance_uuid=_uuid(MISSING_IN_CELL),
            cell_mapping=self.cell_mappings["cell1"], project_id="p",
        ).create()

    # -- fixtures built with Nova's objects --

    def _create_node(self, cell_name, name, hypervisor_type):
        cell = self.cell_mappings[cell_name]
        with nova_context.target_cell(self.context, cell) as cctxt:
            node = objects.ComputeNode(
                context=cctxt, host=name, hypervisor_hostname=name,
                hypervisor_type=hypervisor_type, hypervisor_version=1,
                vcpus=4, memory_mb=4096, local_gb=40, vcpus_used=0,
                memory_mb_used=0, local_gb_used=0, cpu_info="{}",
                uuid=NODE_UUIDS[name],
            )
            node.create()
        self.node_ids[name] = node.id

    def _create_instance(self, number, cell_name, vm_state, node, metadata):
        uuid = _uuid(number)
        cell = self.cell_mappings[cell_name]
        with nova_context.target_cell(self.context, cell) as cctxt:
            objects.Instance(
                context=cctxt, uuid=uuid, vm_state=vm_state, host=node,
                node=node, compute_id=self.node_ids.get(node),
                project_id="p", user_id="u",
                system_metadata=dict(metadata),
            ).create()
        objects.InstanceMapping(
            context=self.context, instance_uuid=uuid, cell_mapping=cell,
            project_id="p",
        ).create()
        if number == NO_SPEC or cell_name == "cell0":
            return
        properties = IDE_PROPERTIES if number == IDE_PC else {}
        objects.RequestSpec(
            context=self.context, instance_uuid=uuid,
            flavor=objects.Flavor(
                id=1, flavorid="1", name="f", memory_mb=512, vcpus=1,
                root_gb=1, ephemeral_gb=0, swap=0, extra_specs={},
            ),
            image=objects.ImageMeta.from_dict(
                {"properties": dict(properties)}),
            project_id="p", user_id="u", num_instances=1,
            instance_group=None,
            pci_requests=objects.InstancePCIRequests(requests=[]),
        ).create()

    def _destroy(self, number):
        cell = self.cell_mappings[EXCLUDED[number][0]]
        with nova_context.target_cell(self.context, cell) as cctxt:
            objects.Instance.get_by_uuid(cctxt, _uuid(number)).destroy()

    # -- reading back through Nova, not through the code under test --

    def _metadata(self, number):
        mapping = objects.InstanceMapping.get_by_instance_uuid(
            self.context, _uuid(number))
        with nova_context.target_cell(self.context,
                                      mapping.cell_mapping) as cctxt:
            return dict(objects.Instance.get_by_uuid(
                cctxt, _uuid(number),
                expected_attrs=["system_metadata"]).system_metadata)

    def _spec_properties(self, number):
        spec = objects.RequestSpec.get_by_instance_uuid(
            self.context, _uuid(number))
        return spec.image.properties

    def _spec_value(self, number, name):
        properties = self._spec_properties(number)
        return properties.get(name) if name in properties else None

    def _snapshot(self, number):
        """system_metadata and the RequestSpec image, to prove no write."""
        spec = objects.RequestSpec.get_by_instance_uuid(
            self.context, _uuid(number))
        return (self._metadata(number),
                spec.image.properties.obj_to_primitive())

    # -- get_machine_type --

    def test_get_finds_instances_in_both_cells(self):
        found = records.get_machine_type(self.context, _uuid(PINNED_Q35))
        self.assertEqual(
            (self.cell_mappings["cell2"].uuid, "stopped", "qemu2",
             "pc-q35-7.2", "pc-q35-7.2"),
            (found.cell, found.vm_state, found.node, found.recorded,
             found.pinned))
        alias = records.get_machine_type(self.context, _uuid(ALIAS_Q35))
        self.assertEqual((self.cell_mappings["cell1"].uuid, "q35", None),
                         (alias.cell, alias.recorded, alias.pinned))
        unset = records.get_machine_type(self.context, _uuid(STOPPED_2))
        self.assertEqual((self.cell_mappings["cell2"].uuid, None, None),
                         (unset.cell, unset.recorded, unset.pinned))
        # The JSON view the CLI prints carries the same fields.
        self.assertEqual(found.uuid, found.to_dict()["uuid"])

    @ddt.data(
        (99, "no instance"),
        (UNMAPPED, "not mapped to a cell"),
        (MISSING_IN_CELL, "not found there"),
    )
    @ddt.unpack
    def test_get_unknown_instances(self, number, message):
        with pytest.raises(records.UnknownInstanceError, match=message):
            records.get_machine_type(self.context, _uuid(number))

    # -- update_machine_type --

    @ddt.data(
        (STOPPED_1, None, "pc-q35-7.2"),
        (SHELVED_PC, "pc", "pc-i440fx-7.2"),
        (OFFLOADED_I440FX, "pc-i440fx-7.2", "pc-i440fx-8.0"),
    )
    @ddt.unpack
    def test_update_in_allowed_states(self, number, previous, new):
        self.assertEqual(
            (previous, new),
            records.update_machine_type(self.context, _uuid(number), new))
        metadata = self._metadata(number)
        self.assertEqual(new, metadata[records.RECORDED_KEY])
        self.assertEqual(new, metadata[records.PINNED_KEY])
        # Defect 6: the RequestSpec image carries it, so a move keeps it.
        self.assertEqual(new, self._spec_value(number, "hw_machine_type"))
        self.assertEqual(new, records.get_machine_type(
            self.context, _uuid(number)).recorded)

    @ddt.data(
        (ACTIVE_Q35, "pc-q35-8.0", False),
        (ACTIVE_Q35, "pc-q35-8.0", True),
        (ACTIVE_1, "pc-q35-7.2", False),
        (ACTIVE_1, "pc-q35-7.2", True),
    )
    @ddt.unpack
    def test_update_refused_for_active_instances(self, number, new, force):
        before = self._snapshot(number)
        with pytest.raises(records.InvalidStateError, match="active"):
            records.update_machine_type(self.context, _uuid(number), new,
                                        force=force)
        self.assertEqual(before, self._snapshot(number))

    def test_same_type_on_an_active_instance_changes_nothing(self):
        # As in Nova, re-recording the recorded type is a no-op whatever
        # the vm_state: the guest's hardware does not change.
        before = self._metadata(ACTIVE_Q35)
        previous, new = records.update_machine_type(
            self.context, _uuid(ACTIVE_Q35), before["image_hw_machine_type"])
        self.assertEqual(previous, new)
        self.assertEqual(before["image_hw_machine_type"],
                         self._metadata(ACTIVE_Q35)["image_hw_machine_type"])

    def test_upstream_force_ignores_the_vm_state(self):
        # What "also with force" guards against: upstream's --force skips
        # the vm_state check and rewrites a running guest's record.
        upstream.update_machine_type(self.context, _uuid(ACTIVE_Q35), "pc",
                                     force=True)
        self.assertEqual(
            "pc", self._metadata(ACTIVE_Q35)[records.RECORDED_KEY])

    @ddt.data(
        (ALIAS_Q35, "pc", "family"),
        (ALIAS_Q35, "pc-i440fx-7.2", "family"),
        (PINNED_Q35, "pc-q35-6.2", "downgrade"),
        (PINNED_Q35, "q35", "unpins"),
        (PINNED_Q35, "pc-q35-rhel9.6.0", "variant"),
        (OFFLOADED_I440FX, "pc-q35-8.0", "family"),
    )
    @ddt.unpack
    def test_update_rules_refuse_without_force(self, number, new, why):
        before = self._snapshot(number)
        with pytest.raises(updates.InvalidMachineTypeUpdate, match=why):
            records.update_machine_type(self.context, _uuid(number), new)
        self.assertEqual(before, self._snapshot(number))

    @ddt.data(
        (ALIAS_Q35, "pc"),
        (PINNED_Q35, "pc-q35-6.2"),
        (PINNED_Q35, "q35"),
        (PINNED_Q35, "pc-q35-rhel9.6.0"),
    )
    @ddt.unpack
    def test_update_rules_give_way_to_force(self, number, new):
        previous = RECORDED[number][3]
        self.assertEqual(
            (previous, new),
            records.update_machine_type(self.context, _uuid(number), new,
                                        force=True))
        metadata = self._metadata(number)
        self.assertEqual(new, metadata[records.RECORDED_KEY])
        # An alias pins nothing: the stale pin must go, or the hooks would
        # keep rebuilding the guest on the old versioned type.
        if names.parse_machine_type(new).is_alias:
            self.assertNotIn(records.PINNED_KEY, metadata)
        else:
            self.assertEqual(new, metadata[records.PINNED_KEY])
        self.assertEqual(new, self._spec_value(number, "hw_machine_type"))

    @ddt.data("pc-q35-5x2junk", "Q35", "pc-q35", "pc-q35-7.2 ",
              "pc-i440fx-7.2-hpb", "")
    def test_junk_is_refused_even_with_force(self, name):
        before = self._snapshot(PINNED_Q35)
        for force in (False, True):
            with pytest.raises(names.UnsupportedMachineType):
                records.update_machine_type(self.context, _uuid(PINNED_Q35),
                                            name, force=force)
        self.assertEqual(before, self._snapshot(PINNED_Q35))

    # -- values the instance's architecture cannot have --

    def _set_arch(self, number, arch):
        mapping = objects.InstanceMapping.get_by_instance_uuid(
            self.context, _uuid(number))
        with nova_context.target_cell(self.context,
                                      mapping.cell_mapping) as cctxt:
            instance = objects.Instance.get_by_uuid(
                cctxt, _uuid(number), expected_attrs=["system_metadata"])
            instance.system_metadata[records.ARCH_KEY] = arch
            instance.save()

    @ddt.data(
        # instance, its hw_architecture (None: the default x86_64), new
        # type, what the refusal says
        (STOPPED_1, None, "raspi3b", "it is a machine of aarch64"),
        (STOPPED_1, None, "virt-7.2", "not of x86_64"),
        (STOPPED_1, None, "s390-ccw-virtio-7.2", "machine of s390, s390x"),
        (STOPPED_1, None, "pseries-7.2", "ppc64, ppc64le"),
        (PINNED_Q35, "x86_64", "sbsa-ref", "it is a machine of aarch64"),
        (STOPPED_1, "aarch64", "pc-q35-7.2", "machine of i686, x86_64"),
        (STOPPED_1, "s390x", "virt", "not of s390x"),
    )
    @ddt.unpack
    def test_machine_types_of_other_arches_are_refused(self, number, arch,
                                                       new, why):
        if arch:
            self._set_arch(number, arch)
        before = self._snapshot(number)
        with pytest.raises(arches.MachineTypeArchError, match=why):
            records.update_machine_type(self.context, _uuid(number), new)
        self.assertEqual(before, self._snapshot(number))
        # An update refusal: exit code 4, and --force overrides it.
        self.assertTrue(issubclass(arches.MachineTypeArchError,
                                   updates.InvalidMachineTypeUpdate))
        records.update_machine_type(self.context, _uuid(number), new,
                                    force=True)
        self.assertEqual(new, self._metadata(number)[records.RECORDED_KEY])

    @ddt.data(
        (STOPPED_1, "aarch64", "raspi3b"),
        (STOPPED_1, "aarch64", "virt-7.2"),
        (STOPPED_1, "s390x", "s390-ccw-virtio-7.2"),
        (STOPPED_1, None, "microvm"),
        (STOPPED_1, None, "pc-q35-noble"),
        # A board newer than QEMU's documented lists: nothing says no.
        (STOPPED_1, None, "pc-q35-10.1"),
    )
    @ddt.unpack
    def test_machine_types_of_the_arch_are_accepted(self, number, arch, new):
        if arch:
            self._set_arch(number, arch)
        records.update_machine_type(self.context, _uuid(number), new)
        self.assertEqual(new, self._metadata(number)[records.RECORDED_KEY])

    def test_default_arch_comes_from_the_caller(self):
        records.update_machine_type(self.context, _uuid(STOPPED_1),
                                    "raspi3b", default_arch="aarch64")
        self.assertEqual("raspi3b",
                         self._metadata(STOPPED_1)[records.RECORDED_KEY])

    @ddt.data(
        # what hosts report for the arch, new type, refused?
        (None, "pc-q35-7.2", None),
        ({"pc-q35-7.2"}, "pc-q35-7.2", None),
        (set(), "pc-q35-7.2", "no compute host reporting its x86_64"),
        (set(), "newboard", "no compute host reports offering it"),
        ({"newboard"}, "newboard", None),
        # In no documented list and Placement not asked: a typo, refused
        # before it is recorded (--force records it).
        (None, "q53", "none of QEMU's documented machine lists for x86_64"),
        (None, "bogus-type", "check the spelling"),
        (None, "pc-q35-7.22", "check the spelling"),
        # A host's word wins over the table.
        ({"raspi3b"}, "raspi3b", None),
    )
    @ddt.unpack
    def test_what_hosts_report_decides(self, offered, new, why):
        asked = []

        def offered_for(arch, machine_type):
            asked.append((arch, machine_type))
            return offered

        if why is None:
            records.update_machine_type(self.context, _uuid(STOPPED_1), new,
                                        offered_for=offered_for)
            self.assertEqual(
                new, self._metadata(STOPPED_1)[records.RECORDED_KEY])
        else:
            with pytest.raises(arches.MachineTypeArchError, match=why):
                records.update_machine_type(self.context, _uuid(STOPPED_1),
                                            new, offered_for=offered_for)
        self.assertEqual([("x86_64", new)], asked)

    def test_alias_is_pinned_to_a_versioned_type(self):
        self.assertNotIn(records.PINNED_KEY, self._metadata(ALIAS_Q35))
        self.assertEqual(
            ("q35", "pc-q35-7.2"),
            records.update_machine_type(self.context, _uuid(ALIAS_Q35),
                                        "pc-q35-7.2"))
        found = records.get_machine_type(self.context, _uuid(ALIAS_Q35))
        self.assertEqual(("pc-q35-7.2", "pc-q35-7.2"),
                         (found.recorded, found.pinned))
        self.assertEqual("pc-q35-7.2",
                         self._spec_value(ALIAS_Q35, "hw_machine_type"))

    def test_same_type_is_a_no_op(self):
        before = self._metadata(PINNED_Q35)
        self.assertEqual(
            ("pc-q35-7.2", "pc-q35-7.2"),
            records.update_machine_type(self.context, _uuid(PINNED_Q35),
                                        "pc-q35-7.2"))
        self.assertEqual(before, self._metadata(PINNED_Q35))
        # Forcing the same value is no different.
        records.update_machine_type(self.context, _uuid(PINNED_Q35),
                                    "pc-q35-7.2", force=True)
        self.assertEqual(before, self._metadata(PINNED_Q35))

    def test_same_type_still_pins_and_syncs_the_request_spec(self):
        # Recorded the upstream way: system_metadata only.
        upstream.update_machine_type(self.context, _uuid(STOPPED_1),
                                     "pc-q35-7.2")
        records.update_machine_type(self.context, _uuid(STOPPED_1),
                                    "pc-q35-7.2")
        self.assertEqual("pc-q35-7.2",
                         self._metadata(STOPPED_1).get(records.PINNED_KEY))
        self.assertEqual("pc-q35-7.2",
                         self._spec_value(STOPPED_1, "hw_machine_type"))

    def test_update_of_unknown_instances(self):
        for number in (99, UNMAPPED, MISSING_IN_CELL):
            with pytest.raises(records.UnknownInstanceError):
                records.update_machine_type(self.context, _uuid(number),
                                            "q35")

    def test_update_without_request_spec_still_records(self):
        self.assertEqual(
            (None, "q35"),
            records.update_machine_type(self.context, _uuid(NO_SPEC), "q35"))
        metadata = self._metadata(NO_SPEC)
        self.assertEqual("q35", metadata[records.RECORDED_KEY])
        self.assertNotIn(records.PINNED_KEY, metadata)
        self.assertRaises(nova_exception.RequestSpecNotFound,
                          objects.RequestSpec.get_by_instance_uuid,
                          self.context, _uuid(NO_SPEC))

    def test_upstream_leaves_the_request_spec_behind(self):
        # Defect 6, upstream side: the record changes, the RequestSpec
        # image a cold migration rebuilds from does not.
        upstream.update_machine_type(self.context, _uuid(STOPPED_1),
                                     "pc-q35-7.2")
        self.assertEqual("pc-q35-7.2",
                         self._metadata(STOPPED_1)[records.RECORDED_KEY])
        self.assertIsNone(self._spec_value(STOPPED_1, "hw_machine_type"))
        records.update_machine_type(self.context, _uuid(OFFLOADED_1),
                                    "pc-q35-7.2")
        self.assertEqual("pc-q35-7.2",
                         self._spec_value(OFFLOADED_1, "hw_machine_type"))

    # -- list_unset --

    def _unset(self, **kwargs):
        return listings.list_unset(self.context, **kwargs)

    def _walk_order(self, numbers=tuple(UNSET)):
        """``numbers`` as list_unset walks them: cells by UUID, each in
        creation order (the numbers' order here)."""
        return [_uuid(n) for n in sorted(numbers, key=lambda n: (
            self.cell_mappings[UNSET[n][0]].uuid, n))]

    def test_lists_exactly_the_unrecorded_instances(self):
        found = self._unset()
        self.assertEqual(self._walk_order(), [item.uuid for item in found])
        by_uuid = {_uuid(n): UNSET[n] for n in UNSET}
        self.assertEqual(
            [(self.cell_mappings[cell].uuid, state, node, node)
             for cell, state, node in (by_uuid[item.uuid]
                                       for item in found)],
            [(item.cell, item.vm_state, item.host, item.node)
             for item in found])
        self.assertIsNone(found.next_marker)

    def test_recording_removes_an_instance_from_the_list(self):
        records.update_machine_type(self.context, _uuid(STOPPED_2),
                                    "pc-q35-7.2")
        self.assertEqual(
            [u for u in self._walk_order() if u != _uuid(STOPPED_2)],
            [item.uuid for item in self._unset()])

    @ddt.data("cell1", "cell2")
    def test_cell_uuid_restricts_to_that_cell(self, cell_name):
        cell_uuid = self.cell_mappings[cell_name].uuid
        expected = [_uuid(n) for n in sorted(UNSET)
                    if UNSET[n][0] == cell_name]
        found = self._unset(cell_uuid=cell_uuid)
        self.assertEqual(expected, [item.uuid for item in found])
        self.assertEqual({cell_uuid}, {item.cell for item in found})

    def test_upstream_ignores_cell_uuid_and_lists_ironic(self):
        # Defect 7, upstream side: asked for cell1, it returns cell2's
        # instances too, and the ironic one its upgrade check warns about.
        cell1 = self.cell_mappings["cell1"].uuid
        theirs = {instance.uuid for instance in
                  upstream.get_instances_without_type(self.context, cell1)}
        in_cell2 = {_uuid(n) for n in UNSET if UNSET[n][0] == "cell2"}
        self.assertTrue(in_cell2 <= theirs, theirs)
        self.assertIn(_uuid(IRONIC), theirs)
        ours = {item.uuid for item in self._unset(cell_uuid=cell1)}
        self.assertFalse(ours & in_cell2)
        self.assertNotIn(_uuid(IRONIC), ours)

    @ddt.data(1, 2, 4, 6, 7)
    def test_pages_are_the_listing_cut_up(self, limit):
        pages, marker = [], None
        while True:
            page = self._unset(limit=limit, marker=marker)
            self.assertLessEqual(len(page), limit)
            pages.append([item.uuid for item in page])
            marker = page.next_marker
            if marker is None:
                break
            self.assertTrue(marker.startswith(page[-1].cell + ":"))
            self.assertLess(len(pages), 10, "paging does not end")
        self.assertEqual(self._walk_order(),
                         [uuid for page in pages for uuid in page])
        # The last page says no more is left, even when it is full.
        self.assertEqual(-(-len(UNSET) // limit), len(pages))

    def test_instance_uuid_markers_resume_after_that_instance(self):
        # nova-manage's marker: the UUID of the last instance listed.
        walked = self._walk_order()
        for index, uuid in enumerate(walked):
            self.assertEqual(walked[index + 1:],
                             [i.uuid for i in self._unset(marker=uuid)])
        self.assertEqual(walked[2:4], [i.uuid for i in self._unset(
            marker=walked[1], limit=2)])
        # Written as UUIDs may be: upper case, no dashes.
        self.assertEqual(walked[2:], [i.uuid for i in self._unset(
            marker=walked[1].upper().replace("-", ""))])
        # Recorded since it was listed: still a position.
        index = walked.index(_uuid(STOPPED_1))
        records.update_machine_type(self.context, _uuid(STOPPED_1),
                                    "pc-q35-7.2")
        self.assertEqual(walked[index + 1:], [i.uuid for i in self._unset(
            marker=_uuid(STOPPED_1))])
        self.assertEqual(
            [u for u in walked if UNSET[int(u[-12:])][0] == "cell2"][1:],
            [i.uuid for i in self._unset(
                cell_uuid=self.cell_mappings["cell2"].uuid,
                marker=next(u for u in walked
                            if UNSET[int(u[-12:])][0] == "cell2"))])

    def test_a_marker_survives_its_instance(self):
        first = self._unset(limit=2)
        mapping = objects.InstanceMapping.get_by_instance_uuid(
            self.context, first[-1].uuid)
        with nova_context.target_cell(self.context,
                                      mapping.cell_mapping) as cctxt:
            objects.Instance.get_by_uuid(cctxt, first[-1].uuid).destroy()
        self.assertEqual(self._walk_order()[2:], [
            i.uuid for i in self._unset(marker=first.next_marker)])

    @ddt.data(
        ("not-a-uuid", "neither an instance UUID nor a marker"),
        ("", "neither an instance UUID nor a marker"),
        # Unknown, and in cell0 (never listed).
        (_uuid(UNMAPPED + 500), "no such instance"),
        (_uuid(IN_CELL0), "no such instance"),
        ("%s:x" % _uuid(1), "is malformed"),
        ("%s:-1" % _uuid(1), "is malformed"),
        ("%s:\u0661" % _uuid(1), "is malformed"),
        ("cell1:3", "is malformed"),
        ("%s:3" % _uuid(1), "which this listing does not walk"),
    )
    @ddt.unpack
    def test_bad_markers_are_refused(self, marker, why):
        with pytest.raises(listings.InvalidMarkerError, match=why):
            self._unset(marker=marker, limit=2)

    def test_unknown_cell(self):
        with pytest.raises(listings.UnknownCellError):
            self._unset(cell_uuid="11111111-2222-4333-8444-555555555555")

    # -- image properties --

    def test_image_properties_read_from_system_metadata(self):
        self.assertEqual(
            {"hw_disk_bus": "ide", "hw_machine_type": "pc-i440fx-7.2"},
            records.image_properties(self.context, _uuid(IDE_PC)))
        self.assertEqual({}, records.image_properties(self.context,
                                                      _uuid(STOPPED_1)))
        with pytest.raises(records.UnknownInstanceError):
            records.image_properties(self.context, _uuid(UNMAPPED))

    @ddt.data(PINNED_Q35, SHELVED_PC, OFFLOADED_I440FX)
    def test_set_normalises_and_mirrors_into_request_spec(self, number):
        changed = records.set_image_properties(
            self.context, _uuid(number),
            {"hw_disk_bus": " SATA ", "hw_vif_model": "VirtualE1000"})
        # (previous, new) with the values as stored, not as typed.
        self.assertEqual({"hw_disk_bus": (None, "sata"),
                          "hw_vif_model": (None, "e1000")}, changed)
        metadata = self._metadata(number)
        self.assertEqual(("sata", "e1000"),
                         (metadata["image_hw_disk_bus"],
                          metadata["image_hw_vif_model"]))
        self.assertEqual(("sata", "e1000"),
                         (self._spec_value(number, "hw_disk_bus"),
                          self._spec_value(number, "hw_vif_model")))

    def test_set_replaces_and_reports_the_previous_value(self):
        self.assertEqual(
            {"hw_disk_bus": ("ide", "virtio")},
            records.set_image_properties(self.context, _uuid(IDE_PC),
                                         {"hw_disk_bus": "virtio"}))
        self.assertEqual("virtio",
                         self._metadata(IDE_PC)["image_hw_disk_bus"])
        self.assertEqual("virtio", self._spec_value(IDE_PC, "hw_disk_bus"))

    def test_unset_removes_from_metadata_and_request_spec(self):
        self.assertEqual("ide", self._spec_value(IDE_PC, "hw_disk_bus"))
        self.assertEqual(
            {"hw_disk_bus": ("ide", None)},
            records.set_image_properties(self.context, _uuid(IDE_PC),
                                         {"hw_disk_bus": None}))
        self.assertNotIn("image_hw_disk_bus", self._metadata(IDE_PC))
        # Else a move would bring the IDE disk back from the RequestSpec.
        self.assertIsNone(self._spec_value(IDE_PC, "hw_disk_bus"))

    @ddt.data(ACTIVE_Q35, ACTIVE_1)
    def test_set_refused_when_active(self, number):
        before = self._snapshot(number)
        for change in ({"hw_disk_bus": "sata"}, {"hw_disk_bus": None}):
            with pytest.raises(records.InvalidStateError):
                records.set_image_properties(self.context, _uuid(number),
                                             change)
        self.assertEqual(before, self._snapshot(number))

    @ddt.data(
        ("hw_machine_type", "pc-q35-8.0"),
        ("hw_machine_type", None),
        ("hw_cpu_policy", "dedicated"),
        ("hw_maxphysaddr_bits", "42"),
        ("image_hw_disk_bus", "sata"),
        ("no_such_property", "x"),
        ("no_such_property", None),
    )
    @ddt.unpack
    def test_refused_names(self, name, value):
        before = self._snapshot(PINNED_Q35)
        with pytest.raises(devices.InvalidImageProperty) as caught:
            records.set_image_properties(self.context, _uuid(PINNED_Q35),
                                         {name: value})
        self.assertEqual("name", caught.value.kind)
        self.assertEqual(before, self._snapshot(PINNED_Q35))

    @ddt.data(
        # Recorded pc-q35-7.2 and pinned.
        (PINNED_Q35, "hw_disk_bus", "ide"),
        (PINNED_Q35, "hw_cdrom_bus", "IDE"),
        # Only the alias recorded: still q35, still no IDE.
        (ALIAS_Q35, "hw_disk_bus", "ide"),
        # Nova has no such values at all.
        (PINNED_Q35, "hw_disk_bus", "nvme"),
        (STOPPED_1, "hw_video_model", "junk"),
        (PINNED_Q35, "hw_scsi_model", "buslogic"),
        (PINNED_Q35, "hw_vif_model", "spapr-vlan"),
    )
    @ddt.unpack
    def test_refused_values(self, number, name, value):
        before = self._snapshot(number)
        with pytest.raises(devices.InvalidImageProperty) as caught:
            records.set_image_properties(self.context, _uuid(number),
                                         {name: value})
        self.assertEqual("value", caught.value.kind)
        self.assertEqual(before, self._snapshot(number))

    def test_ide_allowed_where_the_machine_has_it(self):
        # The same value the q35 instances were refused, on i440fx.
        records.set_image_properties(self.context, _uuid(SHELVED_PC),
                                     {"hw_cdrom_bus": "ide"})
        self.assertEqual("ide",
                         self._metadata(SHELVED_PC)["image_hw_cdrom_bus"])

    def test_one_bad_change_writes_nothing(self):
        before = self._snapshot(PINNED_Q35)
        with pytest.raises(devices.InvalidImageProperty):
            records.set_image_properties(
                self.context, _uuid(PINNED_Q35),
                {"hw_disk_bus": "sata", "hw_video_model": "junk"})
        self.assertEqual(before, self._snapshot(PINNED_Q35))

    def test_upstream_image_property_set_defect_9(self):
        commands = nova_manage.ImagePropertyCommands()
        # hw_machine_type goes straight past the machine-type rules...
        self.assertEqual(0, commands.set(_uuid(PINNED_Q35),
                                         ["hw_machine_type=anything"]))
        self.assertEqual(
            "anything", self._metadata(PINNED_Q35)[records.RECORDED_KEY])
        # ...as does any other ImageMetaProps field.
        self.assertEqual(
            {"hw_cpu_policy": "dedicated"},
            commands._validate_image_properties(["hw_cpu_policy=dedicated"]))
        # 'key=a=b' is a format error reported as a bad value (exit 6),
        # for an unknown name as much as a known one.
        self.assertEqual(6, commands.set(_uuid(ALIAS_Q35),
                                         ["hw_disk_bus=a=b"]))
        self.assertEqual(6, commands.set(_uuid(ALIAS_Q35), ["key=a=b"]))
        with pytest.raises(ValueError, match="length 3"):
            commands._validate_image_properties(["key=a=b"])
        # ...and a property can be set but never removed again.
        self.assertFalse(hasattr(commands, "unset"))


# -- DESIGN defect 8: which names are machine types (no database) ---------

REAL_TYPES = ("pc-q35-rhel10.0.0", "virt-rhel9.6.0", "pseries-7.2",
              "pseries", "pc-q35-jammy")


@pytest.mark.parametrize("name", REAL_TYPES)
def test_upstream_rejects_real_types_we_accept(name):
    with pytest.raises(nova_exception.UnsupportedMachineType):
        upstream._check_machine_type_support(name)
    assert names.parse_machine_type(name).name == name


def test_upstream_accepts_junk_we_refuse():
    upstream._check_machine_type_support("pc-q35-5x2junk")
    with pytest.raises(names.UnsupportedMachineType, match="5x2junk"):
        names.parse_machine_type("pc-q35-5x2junk")


def test_upstream_version_check_crashes_on_junk():
    # Not the InvalidMachineTypeUpdate nova-manage maps to exit 4: an
    # IndexError from its regex, i.e. "unexpected error", exit 1.
    with pytest.raises(Exception) as caught:
        upstream._check_update_to_existing_type("pc-q35-5.2",
                                                "pc-q35-5x2junk")
    assert not isinstance(caught.value,
                          nova_exception.InvalidMachineTypeUpdate)
    assert isinstance(caught.value, IndexError)
    with pytest.raises(names.UnsupportedMachineType):
        updates.check_update("pc-q35-5.2", "pc-q35-5x2junk")


@pytest.mark.parametrize(("existing", "new"), [
    ("pc-q35-rhel9.6.0", "pc-q35-rhel10.0.0"),
    ("pseries-7.1", "pseries-7.2"),
    ("virt-rhel9.4.0", "virt-rhel9.6.0"),
])
def test_real_upgrades_pass_our_rules(existing, new):
    assert updates.check_update(existing, new).name == new
