"""The recorder and the audit on a real libvirtd domain and Nova's DBs.

A guest defined in the local libvirtd (from the alias ``q35``, which
libvirt pins to the local QEMU's versioned type) and an instance record in
Nova's cell database with the same UUID: the recorder records the
versioned type and the device models, idempotently, and mirrors them into
the RequestSpec; the audit flags a record that would change the guest's
chipset. Nova's own recording keeps the alias (DESIGN defect 5).
"""

import uuid

import nova.conf
import pytest
from nova import context as nova_context
from nova import objects, test
from nova.virt.libvirt import utils as libvirt_utils

from nova_hwabi import conf as hwabi_conf
from nova_hwabi.machine_type import hooks, recorder, records
from nova_hwabi.testing import fixtures as hwabi_fixtures
from tests.conftest import DOMAINS
from tests.functional.conftest import URI, define_domain, virsh

CONF = nova.conf.CONF


def _define_domain(instance_uuid: str) -> str:
    """Define (not start) a TCG q35 guest with this UUID; return its name."""
    template = (DOMAINS / "src" / "q35-plain.define.xml").read_text()
    return define_domain(template, "hwabi-rec-%s" % instance_uuid[:8],
                         instance_uuid)


@pytest.mark.usefixtures("libvirtd")
class TestRecorderOnALiveDomain(test.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(hwabi_fixtures.IgnoreNoloadDeprecation())
        hwabi_conf.register_opts(CONF)
        self.context = nova_context.get_admin_context()
        self.uuid = str(uuid.uuid4())
        cell = self.cell_mappings["cell1"]
        with nova_context.target_cell(self.context, cell) as cctxt:
            objects.Instance(
                context=cctxt, uuid=self.uuid, vm_state="active",
                project_id="p", user_id="u",
                system_metadata={"image_hw_disk_bus": "scsi"},
            ).create()
        objects.InstanceMapping(context=self.context,
                                instance_uuid=self.uuid, cell_mapping=cell,
                                project_id="p").create()
        objects.RequestSpec(
            context=self.context, instance_uuid=self.uuid,
            flavor=objects.Flavor(id=1, flavorid="1", name="f",
                                  memory_mb=64, vcpus=1, root_gb=0,
                                  ephemeral_gb=0, swap=0, extra_specs={}),
            image=objects.ImageMeta.from_dict({"properties": {}}),
            project_id="p", user_id="u", num_instances=1,
            instance_group=None,
            pci_requests=objects.InstancePCIRequests(requests=[]),
        ).create()
        self.domain = _define_domain(self.uuid)
        self.addCleanup(virsh, "undefine", self.domain, check=False)

    def _ours(self, results):
        return [r for r in results if r.uuid == self.uuid]

    def test_record_pins_the_versioned_type_idempotently(self):
        host = recorder.read_local_host(URI)
        running = next(d for d in host.domains if d.uuid == self.uuid)
        assert running.machine.startswith("pc-q35-")

        (dry,) = self._ours(recorder.record_local_instances(
            self.context, host, CONF, dry_run=True))
        assert dry.change.set[hooks.RECORDED_KEY] == running.machine
        assert records.get_machine_type(self.context, self.uuid).recorded \
            is None

        (done,) = self._ours(recorder.record_local_instances(
            self.context, host, CONF))
        assert not done.change.empty
        found = records.get_machine_type(self.context, self.uuid)
        assert (found.recorded, found.pinned) == (running.machine,
                                                  running.machine)
        properties = records.image_properties(self.context, self.uuid)
        assert properties["hw_disk_bus"] == "scsi"  # recorded wins
        assert properties["hw_video_model"] == "bochs"  # from the domain
        spec = objects.RequestSpec.get_by_instance_uuid(self.context,
                                                        self.uuid)
        assert spec.image.properties.hw_machine_type == running.machine

        (again,) = self._ours(recorder.record_local_instances(
            self.context, host, CONF))
        assert again.change.empty

    def test_audit_flags_a_record_that_would_change_the_chipset(self):
        host = recorder.read_local_host(URI)
        (missing,) = self._ours(
            recorder.audit_local_instances(self.context, host, CONF))
        assert "no machine type recorded" in missing.drift[0]

        # Nova's record says i440fx while the guest runs q35.
        records.apply_change(self.context, self.uuid, hooks.RecordChange(
            set={hooks.RECORDED_KEY: "pc"}))
        (drift,) = self._ours(
            recorder.audit_local_instances(self.context, host, CONF))
        assert any("would change its chipset" in d for d in drift.drift)
        assert drift.running.startswith("pc-q35-")

    def test_upstream_records_the_alias_not_what_runs(self):
        # DESIGN defect 5: Nova's libvirt driver records get_machine_type()
        # of the image and config, an alias, never the versioned type the
        # guest runs, so a QEMU upgrade that moves the alias drifts the ABI.
        self.flags(hw_machine_type=["x86_64=q35"], group="libvirt")
        image_meta = objects.ImageMeta.from_dict(
            {"properties": {"hw_architecture": "x86_64"}})
        upstream = libvirt_utils.get_machine_type(image_meta)
        host = recorder.read_local_host(URI)
        running = next(d for d in host.domains if d.uuid == self.uuid)
        assert upstream == "q35"
        assert running.machine != upstream
        ours = hooks.at_startup(
            records.load_record(self.context, self.uuid, "x86_64"),
            running, CONF)
        assert ours.set[hooks.PINNED_KEY] == running.machine


@pytest.fixture(scope="module")
def audit_placement(module_placement):
    """A Placement of this module's own with one compute host that offers
    virtio disks and video and the local QEMU's q35 types, but no SCSI
    bus and no bochs video."""
    from nova_hwabi import traits
    from nova_hwabi.testing.placement_server import PlacementAdmin

    PlacementAdmin(module_placement).create_provider("only-host", traits=[
        "COMPUTE_STORAGE_BUS_VIRTIO", "COMPUTE_GRAPHICS_MODEL_VIRTIO",
        "COMPUTE_NET_VIF_MODEL_VIRTIO",
        traits.machine_type_trait("x86_64", "pc-q35-1.4")])
    return module_placement


@pytest.mark.usefixtures("libvirtd")
class TestAuditAgainstPlacement(TestRecorderOnALiveDomain):
    """``machine-type audit`` names records no compute host offers."""

    @pytest.fixture(autouse=True)
    def _placement(self, audit_placement, tmp_path, capsys):
        from nova_hwabi.testing.placement_server import hwabi_conf_for

        self.audit_conf = hwabi_conf_for(audit_placement, tmp_path)
        self.capsys = capsys

    def _audit(self):
        import argparse
        import json

        from nova_hwabi.cmd import manage

        args = argparse.Namespace(connect=URI, format="json",
                                  conf=self.audit_conf)
        code = manage.machine_type_audit(self.context, args)
        out, err = self.capsys.readouterr()
        (mine,) = [item for item in json.loads(out)
                   if item["uuid"] == self.uuid]
        return code, mine, err

    def test_audit_names_what_no_host_offers(self):
        host = recorder.read_local_host(URI)
        recorder.record_local_instances(self.context, host, CONF)
        code, mine, err = self._audit()
        assert mine["drift"] == []
        running = mine["running"]
        assert mine["unoffered"] == [
            "no compute host offers hw_disk_bus=scsi "
            "(COMPUTE_STORAGE_BUS_SCSI)",
            "no compute host offers hw_video_model=bochs "
            "(COMPUTE_GRAPHICS_MODEL_BOCHS)",
            "no compute host offers machine type %s for x86_64 (%s)" % (
                running, "CUSTOM_HWABI_MACHINE_X86_64_"
                + running.upper().replace("-", "_").replace(".", "_")),
        ]
        # Only domains that are instances of this test's cells count.
        assert code == 4
        assert err == ""

    # The inherited tests run once, in the parent class.
    test_record_pins_the_versioned_type_idempotently = None
    test_audit_flags_a_record_that_would_change_the_chipset = None
    test_upstream_records_the_alias_not_what_runs = None
