"""The address_width request filter on Nova's databases and request flow.

A real instance in Nova's cell database (mapped through the API
database) with a recorded width and the task state Nova's API sets for
each move; Nova's own process_reqspec() runs our dispatcher and Nova's
ResourceRequest builds the query Placement receives: the ladder trait for
the width is required, the one above it forbidden (``!``).
"""

from urllib.parse import parse_qs

import nova.conf
from nova import context as nova_context
from nova import objects, test
from nova.scheduler import request_filter
from nova.scheduler import utils as scheduler_utils

from nova_hwabi import address_width as aw
from nova_hwabi import conf as hwabi_conf
from nova_hwabi import request_filters
from nova_hwabi.request_filters import moving
from nova_hwabi.testing import fixtures as hwabi_fixtures
from nova_hwabi.testing import inprocess

CONF = nova.conf.CONF
PASSTHROUGH = {"hw:maxphysaddr_mode": "passthrough"}
BITS_48 = "CUSTOM_HWABI_MAXPHYSADDR_BITS_48"
BITS_49 = "CUSTOM_HWABI_MAXPHYSADDR_BITS_49"


def placement_root_required(context, spec) -> tuple[set, set]:
    """(required, forbidden) root traits in the query Nova sends."""
    request_filter.process_reqspec(context, spec)
    query = scheduler_utils.ResourceRequest.from_request_spec(
        spec).to_querystring()
    values = parse_qs(query).get("root_required", [""])[0].split(",")
    # Nova forbids COMPUTE_STATUS_DISABLED itself; ours are the ladder's.
    return ({v for v in values if v and not v.startswith("!")},
            {v[1:] for v in values
             if v.startswith("!") and "MAXPHYSADDR" in v})


class TestAddressWidthRequestFilter(test.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(hwabi_fixtures.IgnoreNoloadDeprecation())
        hwabi_conf.register_opts(CONF)
        self.context = nova_context.get_admin_context()
        request_filters.register_with_nova(CONF)
        self.addCleanup(request_filters.unregister_from_nova)
        self.flags(require_bits_ladder=True, group="hwabi_scheduler")

    def _instance(self, task_state, metadata, cell="cell1"):
        instance_uuid = inprocess.request_spec().instance_uuid
        mapping = self.cell_mappings[cell] if cell else None
        if mapping is not None:
            with nova_context.target_cell(self.context, mapping) as cctxt:
                objects.Instance(
                    context=cctxt, uuid=instance_uuid, vm_state="active",
                    task_state=task_state, host="src", project_id="p",
                    user_id="u", system_metadata=metadata).create()
        objects.InstanceMapping(context=self.context,
                                instance_uuid=instance_uuid,
                                cell_mapping=mapping,
                                project_id="p").create()
        return instance_uuid

    def test_live_migration_requires_the_width_and_forbids_the_next(self):
        self._instance("migrating", {aw.MODE_KEY: "passthrough",
                                     aw.BITS_KEY: "48"})
        required, forbidden = placement_root_required(
            self.context, inprocess.request_spec(PASSTHROUGH))
        self.assertIn(BITS_48, required)
        self.assertIn("COMPUTE_ADDRESS_SPACE_PASSTHROUGH", required)
        self.assertEqual({BITS_49}, forbidden)

    def test_cold_migration_at_least_requires_the_width_only(self):
        self._instance("resize_prep", {aw.MODE_KEY: "passthrough",
                                       aw.BITS_KEY: "48"})
        required, forbidden = placement_root_required(
            self.context, inprocess.request_spec(PASSTHROUGH))
        self.assertIn(BITS_48, required)
        self.assertEqual(set(), forbidden)

    def test_new_boot_is_left_to_nova(self):
        # Nova maps a new instance to no cell until it is scheduled.
        self._instance(None, {}, cell=None)
        required, forbidden = placement_root_required(
            self.context, inprocess.request_spec(PASSTHROUGH))
        self.assertFalse({t for t in required if "MAXPHYSADDR" in t})
        self.assertEqual(set(), forbidden)

    def test_moving_instance_reads_task_state_and_record(self):
        instance_uuid = self._instance("unshelving", {
            aw.MODE_KEY: "passthrough", aw.BITS_KEY: "52"})
        found = moving.moving_instance(self.context, instance_uuid)
        self.assertEqual("unshelving", found.task_state)
        self.assertEqual("52", found.system_metadata[aw.BITS_KEY])
        self.assertIsNone(moving.moving_instance(
            self.context, "00000000-0000-4000-8000-000000000000"))

    def test_moving_instance_without_system_metadata(self):
        instance_uuid = self._instance("migrating", {})
        found = moving.moving_instance(self.context, instance_uuid)
        self.assertEqual(("migrating", {}),
                         (found.task_state, dict(found.system_metadata)))
