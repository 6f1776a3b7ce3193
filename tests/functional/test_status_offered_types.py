"""Upgrade check: pinned machine types that no compute host offers.

Nova's DB fixtures hold an instance pinned to pc-q35-7.2; a real Placement
(its own, so traits other tests create cannot leak in) holds the hosts'
machine-type traits. The check says when it cannot tell, warns while no
provider carries the instance's type, and passes once one does.
"""

import pytest
from nova import context as nova_context
from nova import objects, test
from oslo_upgradecheck import upgradecheck

from nova_hwabi.cmd.status import Checks
from nova_hwabi.testing.placement_server import (
    PlacementAdmin,
    hwabi_conf_for,
    load_hwabi_conf,
    write_nova_conf,
)

PINNED = "CUSTOM_HWABI_MACHINE_X86_64_PC_Q35_7_2"
OTHER = "CUSTOM_HWABI_MACHINE_X86_64_PC_Q35_8_2"


class TestOfferedMachineTypes(test.TestCase):

    @pytest.fixture(autouse=True)
    def _placement(self, module_placement, tmp_path):
        self.placement = PlacementAdmin(module_placement)
        self.conf = hwabi_conf_for(module_placement, tmp_path)
        self.tmp_path = tmp_path
        self.endpoint = module_placement.endpoint

    def setUp(self):
        super().setUp()
        self.context = nova_context.get_admin_context()
        cell = self.cell_mappings["cell1"]
        with nova_context.target_cell(self.context, cell) as cctxt:
            objects.Instance(
                context=cctxt, uuid="11111111-0000-4000-8000-000000000001",
                vm_state="stopped", project_id="p", user_id="u",
                system_metadata={"image_hw_machine_type": "q35",
                                 "hwabi_machine_type": "pc-q35-7.2"},
            ).create()
            # An alias alone never needs a particular host.
            objects.Instance(
                context=cctxt, uuid="11111111-0000-4000-8000-000000000002",
                vm_state="stopped", project_id="p", user_id="u",
                system_metadata={"image_hw_machine_type": "pc"},
            ).create()

    def _check(self, conf=None):
        checks = Checks(conf or self.conf, lambda: self.context)
        return checks._check_offered_machine_types()

    def _conf_with(self, url, placement_opts):
        return load_hwabi_conf(write_nova_conf(
            self.tmp_path / ("nova-%d.conf" % len(placement_opts)),
            url, placement_opts))

    def _provider_with(self, *traits):
        self.placement.create_provider("host-%s" % len(traits),
                                       traits=traits)

    def test_not_checked_until_hosts_report_then_warns_then_passes(self):
        result = self._check()
        assert result.code == upgradecheck.Code.SUCCESS
        assert "Not checked: no compute host reports" in result.details

        self._provider_with(OTHER)
        result = self._check()
        assert result.code == upgradecheck.Code.WARNING
        assert "pc-q35-7.2 for x86_64 (1 instance(s))" in result.details
        assert "pc-i440fx" not in result.details

        self._provider_with(OTHER, PINNED)
        assert self._check().code == upgradecheck.Code.SUCCESS

    # [placement] as given -> the result and the start of its details. No
    # credentials at all: the deployment does not use the check. Anything
    # configured that fails: a warning, never an exit 0 that checked
    # nothing. (A unittest-style class: cases as subTests.)
    NOT_ASKED = (
        (None, {"auth_type": None, "endpoint": None, "token": None},
         upgradecheck.Code.SUCCESS,
         "Not checked: [placement] auth_type is not set"),
        ("http://127.0.0.1:1", {}, upgradecheck.Code.WARNING,
         "Could not check: "),
        (None, {"auth_type": "password"}, upgradecheck.Code.WARNING,
         "Could not check: [placement] auth is incomplete"),
        (None, {"auth_type": "no-such-plugin"}, upgradecheck.Code.WARNING,
         "Could not check: [placement] auth_type"),
    )

    def test_placement_not_asked(self):
        for endpoint, options, code, details in self.NOT_ASKED:
            with self.subTest(endpoint=endpoint, options=options):
                result = self._check(self._conf_with(
                    endpoint or self.endpoint, options))
                assert result.code == code, result.details
                assert result.details.startswith(details), result.details
