"""The recorded_devices request filter in Nova's request-filter flow.

Nova's DB fixtures (API database, two cells) hold the instances; Nova's
own process_reqspec() runs the dispatcher, Nova's ResourceRequest builds
the query, and a real Placement answers it: a move of an instance whose
recorded video model is qxl only gets the host whose QEMU still has QXL
(the real case: instances that no longer started after their hosts moved
to a QEMU without QXL).
"""

import argparse
import json

import pytest
from nova import context as nova_context
from nova import objects, test

from nova_hwabi import conf as hwabi_conf
from nova_hwabi import request_filters
from nova_hwabi.cmd import manage
from nova_hwabi.testing import fixtures as hwabi_fixtures
from nova_hwabi.testing import inprocess
from nova_hwabi.testing.placement_server import (
    PlacementAdmin,
    hwabi_conf_for,
)
from tests.functional.test_request_filter import CONF, root_required

MOVING = "33333333-0000-4000-8000-000000000001"
BOOTING = "33333333-0000-4000-8000-000000000002"
NOTHING_RECORDED = "33333333-0000-4000-8000-000000000003"
STOPPED = "33333333-0000-4000-8000-000000000004"
UNKNOWN = "33333333-0000-4000-8000-000000000099"
RECORDED = {
    "image_hw_video_model": "qxl",
    "image_hw_disk_bus": "virtio",
    "image_hw_cdrom_bus": "sata",
    # Nova's legacy VMware name for e1000, as an old record may hold it.
    "image_hw_vif_model": "VirtualE1000",
    # Recorded, but Nova has no trait family for them.
    "image_hw_pointer_model": "usbtablet",
    "image_hw_machine_type": "pc-q35-7.2",
}
EXPECTED = {"COMPUTE_GRAPHICS_MODEL_QXL", "COMPUTE_STORAGE_BUS_VIRTIO",
            "COMPUTE_STORAGE_BUS_SATA", "COMPUTE_NET_VIF_MODEL_E1000"}
HOST_TRAITS = ["COMPUTE_STORAGE_BUS_VIRTIO", "COMPUTE_STORAGE_BUS_SATA",
               "COMPUTE_NET_VIF_MODEL_E1000", "COMPUTE_GRAPHICS_MODEL_VGA",
               "COMPUTE_GRAPHICS_MODEL_VIRTIO"]


@pytest.fixture(scope="module")
def own_placement(module_placement):
    admin = PlacementAdmin(module_placement)
    # Two compute hosts: one still has QXL, the other's QEMU dropped it.
    for name, extra in (("host-with-qxl", ["COMPUTE_GRAPHICS_MODEL_QXL"]),
                        ("host-without-qxl", [])):
        admin.create_provider(
            name, {"VCPU": 8, "MEMORY_MB": 8192, "DISK_GB": 100},
            HOST_TRAITS + extra)
    return module_placement


class TestRecordedDevicesRequestFilter(test.TestCase):

    NUMBER_OF_CELLS = 2

    @pytest.fixture(autouse=True)
    def _placement(self, own_placement, tmp_path):
        self.placement = PlacementAdmin(own_placement)
        self.manage_conf = hwabi_conf_for(own_placement, tmp_path)

    def setUp(self):
        super().setUp()
        self.useFixture(hwabi_fixtures.IgnoreNoloadDeprecation())
        self.context = nova_context.get_admin_context()
        hwabi_conf.register_opts(CONF)
        self.addCleanup(request_filters.unregister_from_nova)
        request_filters.register_with_nova(CONF)
        self.flags(request_filters=["address_space", "recorded_devices"],
                   group="hwabi_scheduler")
        cell = self.cell_mappings["cell2"]
        for uuid, metadata in ((MOVING, RECORDED), (NOTHING_RECORDED, {}),
                               (STOPPED, RECORDED)):
            with nova_context.target_cell(self.context, cell) as cctxt:
                objects.Instance(
                    context=cctxt, uuid=uuid,
                    vm_state="stopped" if uuid == STOPPED else "active",
                    host="host-with-qxl", project_id="demo", user_id="demo",
                    system_metadata=dict(metadata)).create()
            objects.InstanceMapping(
                context=self.context, instance_uuid=uuid, cell_mapping=cell,
                project_id="demo").create()
        # A new boot: mapped, but not to a cell until it is scheduled.
        objects.InstanceMapping(
            context=self.context, instance_uuid=BOOTING, cell_mapping=None,
            project_id="demo").create()

    def _device_traits(self, uuid, image=None, hints=None):
        spec = inprocess.request_spec({}, image or {}, instance_uuid=uuid)
        if hints:
            spec.scheduler_hints = hints
        required = root_required(self.context, spec)
        return {t for t in required if t.startswith(
            ("COMPUTE_STORAGE_BUS", "COMPUTE_GRAPHICS", "COMPUTE_NET_VIF"))}

    def test_a_move_requires_the_recorded_devices(self):
        assert self._device_traits(MOVING) == EXPECTED

    def test_new_boots_and_empty_records_require_nothing(self):
        for uuid in (BOOTING, UNKNOWN, NOTHING_RECORDED):
            assert self._device_traits(uuid) == set(), uuid

    def test_a_rebuild_takes_its_devices_from_the_new_image(self):
        assert self._device_traits(
            MOVING, hints={"_nova_check_type": ["rebuild"]}) == set()

    def test_not_enabled_by_default(self):
        self.flags(request_filters=["address_space"],
                   group="hwabi_scheduler")
        assert self._device_traits(MOVING) == set()

    def test_nova_alone_reads_only_the_request_spec_image(self):
        # Upstream's prefilter: the image asked for nothing, so a move of
        # the qxl instance may land on a host without QXL.
        self.flags(request_filters=["address_space"],
                   group="hwabi_scheduler")
        self.flags(image_metadata_prefilter=True, group="scheduler")
        assert self._device_traits(MOVING) == set()
        assert self._candidates(MOVING) == {"host-with-qxl",
                                            "host-without-qxl"}

    def test_placement_offers_only_the_host_with_qxl(self):
        assert self._candidates(MOVING) == {"host-with-qxl"}
        # A new boot is Nova's business: both hosts.
        assert self._candidates(BOOTING) == {"host-with-qxl",
                                             "host-without-qxl"}

    def _candidates(self, uuid):
        """Provider names Placement returns for Nova's query."""
        from nova.scheduler import request_filter
        from nova.scheduler import utils as scheduler_utils

        spec = inprocess.request_spec({}, {}, instance_uuid=uuid)
        request_filter.process_reqspec(self.context, spec)
        query = scheduler_utils.ResourceRequest.from_request_spec(
            spec).to_querystring()
        providers = self.placement.call(
            "GET", "/allocation_candidates?" + query).json()[
                "provider_summaries"]
        return {self.placement.call(
                    "GET", "/resource_providers/" + provider_uuid).json()[
                        "name"]
                for provider_uuid in providers}

    def _set(self, capsys, *assignments):
        args = argparse.Namespace(
            instance_uuid=STOPPED, property=list(assignments),
            format="json", conf=self.manage_conf)
        code = manage.image_property_set(self.context, args)
        out, err = capsys.readouterr()
        return code, json.loads(out), err

    @pytest.fixture(autouse=True)
    def _capsys(self, capsys):
        self.capsys = capsys

    def test_image_property_set_warns_when_no_host_offers_it(self):
        code, data, err = self._set(self.capsys, "hw_video_model=cirrus",
                                    "hw_disk_bus=sata")
        assert code == manage.ChangeExit.OK
        assert data["changed"]["hw_video_model"]["new"] == "cirrus"
        assert data["warnings"] == [
            "no compute host offers COMPUTE_GRAPHICS_MODEL_CIRRUS "
            "(hw_video_model=cirrus): the instance cannot start on any "
            "host until one does"]
        assert err == "nova-hwabi-manage: warning: %s\n" % (
            data["warnings"][0])
        # Offered by a host: no warning, no "warnings" key.
        code, data, err = self._set(self.capsys, "hw_video_model=qxl")
        assert code == manage.ChangeExit.OK and err == ""
        assert "warnings" not in data
