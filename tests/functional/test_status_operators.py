"""Upgrade check: flavors whose capabilities: specs change with the mode.

Nova's DB fixtures hold flavors (API database) and compute nodes (cell1)
with cpu_info as the JSON string Nova stores. ``<in> aes`` passes a host
whose features list only ``vaes`` under Nova's substring reading, not under
typed membership: the check names that flavor, and none of the others.
"""

import json

from nova import context as nova_context
from nova import objects, test
from oslo_upgradecheck import upgradecheck

from nova_hwabi import conf as hwabi_conf
from nova_hwabi.cmd.status import Checks
from nova_hwabi.testing import inprocess

# flavor name -> extra specs
FLAVORS = {
    "aes-in": {"capabilities:cpu_info:features": "<in> aes"},
    "aes-all-in": {"capabilities:cpu_info:features": "<all-in> avx2"},
    "vendor": {"capabilities:cpu_info:vendor": "Intel"},
    "other-namespace": {"hw:cpu_policy": "dedicated"},
}
HOSTS = {
    "aes-host": ["aes", "avx2"],
    "vaes-host": ["vaes", "avx2"],
}


class TestCapabilitiesOperatorsCheck(test.TestCase):

    def setUp(self):
        super().setUp()
        self.context = nova_context.get_admin_context()
        for index, (name, specs) in enumerate(FLAVORS.items()):
            objects.Flavor(
                context=self.context, name=name, flavorid="f%d" % index,
                memory_mb=512, vcpus=1, root_gb=1, ephemeral_gb=0, swap=0,
                extra_specs=specs,
            ).create()
        cell = self.cell_mappings["cell1"]
        with nova_context.target_cell(self.context, cell) as cctxt:
            for index, (name, features) in enumerate(HOSTS.items()):
                node = inprocess.compute_node(
                    index, {"arch": "x86_64", "vendor": "Intel",
                            "features": features}, name=name)
                node.obj_reset_changes(["id"])
                del node.id
                node.memory_mb_used = 0
                node.current_workload = 0
                node.running_vms = 0
                node._context = cctxt
                node.create()

    def _check(self, mode=None):
        conf = hwabi_conf.new_config()
        conf([], default_config_files=[])
        if mode is not None:
            conf.set_override("capabilities_operators", mode,
                              group="hwabi_scheduler")
        return Checks(conf, lambda: self.context) \
            ._check_capabilities_operators()

    def test_names_the_flavor_whose_hosts_would_change(self):
        result = self._check()
        assert result.code == upgradecheck.Code.WARNING
        assert "capabilities_operators = typed" in result.details
        assert ("flavor aes-in (f0): capabilities:cpu_info:features = "
                "'<in> aes', 1 host(s)") in result.details
        for unchanged in ("aes-all-in", "vendor", "other-namespace"):
            assert "flavor %s " % unchanged not in result.details

    def test_from_typed_names_the_same_flavor(self):
        result = self._check("typed")
        assert result.code == upgradecheck.Code.WARNING
        assert "capabilities_operators = nova" in result.details
        assert "flavor aes-in (f0)" in result.details

    def test_success_once_the_spec_is_rewritten(self):
        flavor = objects.Flavor.get_by_flavor_id(self.context, "f0")
        flavor.extra_specs = {
            "capabilities:cpu_info:features": "<in> avx2"}
        flavor.save()
        result = self._check()
        assert result.code == upgradecheck.Code.SUCCESS
        assert "none passes other hosts among the 2 compute" in \
            result.details

    def test_cpu_info_is_a_json_string_in_the_database(self):
        cell = self.cell_mappings["cell1"]
        with nova_context.target_cell(self.context, cell) as cctxt:
            nodes = objects.ComputeNodeList.get_all(cctxt)
        assert {json.loads(n.cpu_info)["features"][0] for n in nodes} == {
            "aes", "vaes"}
