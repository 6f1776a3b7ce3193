"""One refused instance never stops machine-type record for the others.

Nova's real cell database holds four instances; this host runs a domain
for each (parsed from a captured libvirt domain), one of them with a
machine type the grammar refuses (junk) and one with ``pc-1.0-qemu-kvm``,
which the host's QEMU lists (the grammar once refused it and so stopped
the whole host's recording). All but the junk one are recorded; that one
is reported as failed with its reason, and nothing is written for it.
"""

import re
import uuid

import nova.conf
from nova import context as nova_context
from nova import objects, test

from nova_hwabi import conf as hwabi_conf
from nova_hwabi.capabilities import parse_guest_domain, parse_host_capabilities
from nova_hwabi.capabilities.samples import load_sample
from nova_hwabi.machine_type import recorder, records
from nova_hwabi.testing import fixtures as hwabi_fixtures
from tests.conftest import DOMAINS

CONF = nova.conf.CONF
REFUSED = "pc-q35-5x2junk"
LEGACY = "pc-1.0-qemu-kvm"


def _domain(instance_uuid: str, machine: str | None = None):
    document = (DOMAINS / "q35-plain.xml").read_text()
    document = re.sub(r"<uuid>[^<]*</uuid>", "<uuid>%s</uuid>"
                      % instance_uuid, document)
    if machine:
        document = re.sub(r"machine='[^']*'", "machine='%s'" % machine,
                          document, count=1)
    return parse_guest_domain(document)


class TestRecordIsolation(test.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(hwabi_fixtures.IgnoreNoloadDeprecation())
        hwabi_conf.register_opts(CONF)
        self.context = nova_context.get_admin_context()
        cell = self.cell_mappings["cell1"]
        self.uuids = [str(uuid.uuid4()) for _ in range(4)]
        for instance_uuid in self.uuids:
            with nova_context.target_cell(self.context, cell) as cctxt:
                objects.Instance(context=cctxt, uuid=instance_uuid,
                                 vm_state="active", project_id="p",
                                 user_id="u", system_metadata={}).create()
            objects.InstanceMapping(context=self.context,
                                    instance_uuid=instance_uuid,
                                    cell_mapping=cell,
                                    project_id="p").create()

    def test_refused_machine_type_fails_alone(self):
        good, refused, other, legacy = self.uuids
        caps = parse_host_capabilities(
            load_sample("x86_64-kvm-debian12").capabilities_xml)
        host = recorder.LocalHost(caps, (
            _domain(good), _domain(refused, REFUSED), _domain(other),
            _domain(legacy, LEGACY)))
        results = {r.uuid: r for r in recorder.record_local_instances(
            self.context, host, CONF)}
        assert results[refused].failed
        assert REFUSED in results[refused].note
        assert records.get_machine_type(self.context, refused).recorded \
            is None
        for instance_uuid in (good, other):
            assert not results[instance_uuid].failed
            found = records.get_machine_type(self.context, instance_uuid)
            assert found.pinned and found.pinned.startswith("pc-q35-")
        assert not results[legacy].failed
        assert records.get_machine_type(self.context, legacy).pinned == \
            LEGACY
