"""Upgrade checks: deprecated or unoffered pinned types, stranded devices.

Nova's DB fixtures (two cells) hold instances with pinned machine types
and recorded device buses/models; a real Placement of this module's own
holds the compute hosts' traits: nova-hwabi's machine-type and
deprecated-machine-type traits, and Nova's own device traits. Each check
says when it cannot tell, warns with counts (and UUIDs with --verbose)
while a host is missing, and passes once one offers what is needed.
"""

import pytest
from nova import context as nova_context
from nova import objects, test
from oslo_upgradecheck import upgradecheck

from nova_hwabi import traits
from nova_hwabi.cmd.status import Checks
from nova_hwabi.testing.placement_server import (
    PlacementAdmin,
    hwabi_conf_for,
)


def _uuid(number: int) -> str:
    return "22222222-0000-4000-8000-%012d" % number


# number: (cell, system metadata)
OLD_1, OLD_2, Q35, ANCIENT = 1, 2, 3, 4
QXL, LEGACY_VIF, IDE, BUILDING_QXL = 10, 11, 12, 13
INSTANCES = {
    OLD_1: ("cell1", {"image_hw_machine_type": "pc-i440fx-1.4",
                      "hwabi_machine_type": "pc-i440fx-1.4"}),
    OLD_2: ("cell2", {"image_hw_machine_type": "pc",
                      "hwabi_machine_type": "pc-i440fx-1.4"}),
    Q35: ("cell1", {"image_hw_machine_type": "pc-q35-7.2"}),
    ANCIENT: ("cell2", {"image_hw_machine_type": "pc-q35-2.0"}),
    QXL: ("cell1", {"image_hw_video_model": "qxl",
                    "image_hw_disk_bus": "virtio"}),
    LEGACY_VIF: ("cell2", {"image_hw_video_model": "virtio",
                           "image_hw_vif_model": "VirtualE1000"}),
    IDE: ("cell2", {"image_hw_disk_bus": "ide",
                    "image_hw_cdrom_bus": "ide"}),
}
OFFER = traits.machine_type_trait
DEPRECATED = traits.deprecated_machine_type_trait


class TestFleetChecks(test.TestCase):

    NUMBER_OF_CELLS = 2

    @pytest.fixture(autouse=True)
    def _placement(self, module_placement, tmp_path):
        self.placement = PlacementAdmin(module_placement)
        self.conf = hwabi_conf_for(module_placement, tmp_path)

    def setUp(self):
        super().setUp()
        self.context = nova_context.get_admin_context()
        for number, (cell, metadata) in INSTANCES.items():
            with nova_context.target_cell(
                    self.context, self.cell_mappings[cell]) as cctxt:
                objects.Instance(
                    context=cctxt, uuid=_uuid(number), vm_state="stopped",
                    project_id="p", user_id="u",
                    system_metadata=dict(metadata)).create()
        # A building instance's records are not the guest's yet.
        with nova_context.target_cell(
                self.context, self.cell_mappings["cell1"]) as cctxt:
            objects.Instance(
                context=cctxt, uuid=_uuid(BUILDING_QXL),
                vm_state="building", project_id="p", user_id="u",
                system_metadata={"image_hw_video_model": "cirrus"}).create()

    def _checks(self, verbose=False):
        return Checks(self.conf, lambda: self.context, verbose=verbose)

    def _provider_with(self, name, *names):
        self.placement.create_provider(name, traits=names)

    def test_machine_types_then_devices(self):
        # Nothing reported yet: neither check can tell.
        for check in (self._checks()._check_offered_machine_types,
                      self._checks()._check_offered_devices):
            result = check()
            assert result.code == upgradecheck.Code.SUCCESS
            assert result.details.startswith("Not checked: no compute host")

        # A host offering pc-i440fx-1.4 (deprecated there) and pc-q35-7.2,
        # and Nova's commonest device traits.
        self._provider_with(
            "host-a", OFFER("x86_64", "pc-i440fx-1.4"),
            DEPRECATED("x86_64", "pc-i440fx-1.4"),
            OFFER("x86_64", "pc-q35-7.2"), "COMPUTE_STORAGE_BUS_VIRTIO",
            "COMPUTE_GRAPHICS_MODEL_VIRTIO", "COMPUTE_NET_VIF_MODEL_E1000")
        result = self._checks()._check_offered_machine_types()
        assert result.code == upgradecheck.Code.WARNING
        assert ("No compute host offers pc-q35-2.0 for x86_64 "
                "(1 instance(s))") in result.details
        assert ("pc-i440fx-1.4 for x86_64 on 1 host(s) (2 instance(s))"
                in result.details)
        assert _uuid(OLD_1) not in result.details
        verbose = self._checks(verbose=True)._check_offered_machine_types()
        assert ("pc-i440fx-1.4 for x86_64 on 1 host(s) (2 instance(s): %s, "
                "%s)" % (_uuid(OLD_1), _uuid(OLD_2))) in verbose.details
        assert "(1 instance(s): %s)" % _uuid(ANCIENT) in verbose.details
        assert _uuid(Q35) not in verbose.details

        devices = self._checks(verbose=True)._check_offered_devices()
        assert devices.code == upgradecheck.Code.WARNING
        assert ("hw_video_model=qxl (COMPUTE_GRAPHICS_MODEL_QXL, 1 "
                "instance(s): %s)" % _uuid(QXL)) in devices.details
        assert ("hw_disk_bus=ide (COMPUTE_STORAGE_BUS_IDE, 1 instance(s): "
                "%s)" % _uuid(IDE)) in devices.details
        assert "hw_cdrom_bus=ide" in devices.details
        # VirtualE1000 is Nova's legacy name of e1000, which host-a has;
        # the building instance's cirrus is not counted.
        assert "VirtualE1000" not in devices.details
        assert "CIRRUS" not in devices.details
        assert _uuid(LEGACY_VIF) not in devices.details

        # A second host with the ancient type and the missing devices: only
        # the deprecation remains.
        self._provider_with(
            "host-b", OFFER("x86_64", "pc-q35-2.0"),
            "COMPUTE_GRAPHICS_MODEL_QXL", "COMPUTE_STORAGE_BUS_IDE")
        result = self._checks()._check_offered_machine_types()
        assert result.code == upgradecheck.Code.WARNING
        assert "No compute host offers" not in result.details
        assert "Deprecated by QEMU" in result.details
        assert self._checks()._check_offered_devices().code == (
            upgradecheck.Code.SUCCESS)
