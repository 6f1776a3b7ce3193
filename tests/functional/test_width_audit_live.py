"""The address-width audit on real libvirtd domains and Nova's databases.

Passthrough guests (and one emulated guest) defined in the local libvirtd,
each with an instance record in Nova's cell database under the same UUID;
the host's bits come from libvirtd's real capabilities. The audit lists
the passthrough guests whose width on this host differs from their record,
or that have none, and leaves the others and the emulated guest alone.
"""

import argparse
import json
import re
import uuid

import fixtures
import nova.conf
import pytest
from nova import context as nova_context
from nova import objects, test

from nova_hwabi import address_width as aw
from nova_hwabi import conf as hwabi_conf
from nova_hwabi.cmd import manage
from nova_hwabi.machine_type import recorder, width_audit
from nova_hwabi.testing import fixtures as hwabi_fixtures
from tests.conftest import DOMAINS
from tests.functional.conftest import URI, define_domain, virsh

CONF = nova.conf.CONF


def _define(instance_uuid: str, maxphysaddr: str) -> str:
    """Define (not start) a guest with this UUID and <maxphysaddr>."""
    template = (DOMAINS / "src" / "pc-passthrough.define.xml").read_text()
    document = re.sub(r"<maxphysaddr[^>]*/>", maxphysaddr, template)
    document = re.sub(r"<mac address='[^']*'/>", "", document)
    return define_domain(document, "hwabi-width-%s" % instance_uuid[:8],
                         instance_uuid)


@pytest.mark.usefixtures("libvirtd")
class TestWidthAuditOnLiveDomains(test.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(hwabi_fixtures.IgnoreNoloadDeprecation())
        hwabi_conf.register_opts(CONF)
        self.context = nova_context.get_admin_context()
        host = recorder.read_local_host(URI)
        self.host_bits = host.capabilities.cpu.maxphysaddr.bits
        assert self.host_bits and self.host_bits > 33
        other = self.host_bits - 1
        passthrough = "<maxphysaddr mode='passthrough'/>"
        self.guests = {
            "as recorded": self._guest(passthrough, {
                aw.MODE_KEY: "passthrough", aw.BITS_KEY: str(self.host_bits)}),
            "recorded narrower": self._guest(passthrough, {
                aw.MODE_KEY: "passthrough", aw.BITS_KEY: str(other)}),
            "not recorded": self._guest(passthrough, {}),
            "emulated": self._guest(
                "<maxphysaddr mode='emulate' bits='40'/>",
                {aw.MODE_KEY: "emulate", aw.BITS_KEY: "40"}),
        }

    def _guest(self, maxphysaddr, metadata):
        instance_uuid = str(uuid.uuid4())
        cell = self.cell_mappings["cell1"]
        with nova_context.target_cell(self.context, cell) as cctxt:
            objects.Instance(
                context=cctxt, uuid=instance_uuid, vm_state="active",
                project_id="p", user_id="u", system_metadata=metadata,
            ).create()
        objects.InstanceMapping(context=self.context,
                                instance_uuid=instance_uuid,
                                cell_mapping=cell, project_id="p").create()
        name = _define(instance_uuid, maxphysaddr)
        self.addCleanup(virsh, "undefine", name, check=False)
        return instance_uuid

    def _rows(self):
        host = recorder.read_local_host(URI)
        ours = set(self.guests.values())
        return {row.uuid: row for row in
                width_audit.audit_local_widths(self.context, host)
                if row.uuid in ours}

    def test_lists_the_guests_whose_width_differs(self):
        rows = self._rows()
        as_recorded = rows[self.guests["as recorded"]]
        assert (as_recorded.status, as_recorded.finding) == ("ok", False)
        differs = rows[self.guests["recorded narrower"]]
        assert differs.status == width_audit.DIFFERS
        assert (differs.recorded, differs.on_host) == (
            self.host_bits - 1, self.host_bits)
        assert rows[self.guests["not recorded"]].status == \
            width_audit.NOT_RECORDED
        assert self.guests["emulated"] not in rows

    def test_command_prints_them_and_exits_3(self):
        args = argparse.Namespace(connect=URI, conf=CONF, format="json")
        stdout = self.useFixture(fixtures.StringStream("stdout")).stream
        self.useFixture(fixtures.MonkeyPatch("sys.stdout", stdout))
        code = manage.address_width_audit(self.context, args)
        stdout.seek(0)
        listed = {row["uuid"]: row for row in json.loads(stdout.read())}
        assert code == manage.WidthAuditExit.FLAGGED
        assert listed[self.guests["recorded narrower"]]["status"] == \
            "differs"
        assert listed[self.guests["as recorded"]]["status"] == "ok"

    def test_command_exits_0_when_every_guest_is_as_recorded(self):
        # Bring the two findings in line; other domains on this libvirtd
        # (other tests') are not Nova instances here and are skipped.
        cell = self.cell_mappings["cell1"]
        with nova_context.target_cell(self.context, cell) as cctxt:
            for key in ("recorded narrower", "not recorded"):
                instance = objects.Instance.get_by_uuid(
                    cctxt, self.guests[key],
                    expected_attrs=["system_metadata"])
                instance.system_metadata.update({
                    aw.MODE_KEY: "passthrough",
                    aw.BITS_KEY: str(self.host_bits)})
                instance.save()
        args = argparse.Namespace(connect=URI, conf=CONF, format="table")
        stdout = self.useFixture(fixtures.StringStream("stdout")).stream
        self.useFixture(fixtures.MonkeyPatch("sys.stdout", stdout))
        assert manage.address_width_audit(self.context, args) == \
            manage.WidthAuditExit.OK
        stdout.seek(0)
        assert stdout.read().count(" ok") == 3
