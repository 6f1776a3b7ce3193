"""HwabiLibvirtDriver inside Nova's own functional framework.

Nova's ``ServersTestBase``: real API, conductor, scheduler and compute
services, Nova's databases and Placement fixture, the libvirt driver over
Nova's fake libvirt connection. The only change from Nova's own libvirt
functional tests is ``compute_driver = hwabi.HwabiLibvirtDriver``, set the
way the README tells operators to, and loaded by Nova through the
``nova.virt.hwabi`` shim.

The fake connection's QEMU offers ``pc`` (canonical ``pc-i440fx-2.11``)
and ``q35``; it keeps the machine attribute a guest was defined with, so
the domain XML shows what Nova's guest config chose.
"""

import copy
import importlib
import re
from unittest import mock

# Nova's functional package chooses the threading mode; it must be
# imported before anything that may import eventlet.
importlib.import_module("nova.tests.functional")

import fixtures  # noqa: E402
from lxml import etree  # noqa: E402
from nova import context as nova_context  # noqa: E402
from nova import objects  # noqa: E402
from nova.tests.fixtures import libvirt as fakelibvirt  # noqa: E402
from nova.tests.functional.api import client  # noqa: E402
from nova.tests.functional.libvirt import base  # noqa: E402
from nova.virt import driver as virt_driver  # noqa: E402
from nova.virt.libvirt import driver as libvirt_driver  # noqa: E402
from oslo_utils.fixture import uuidsentinel  # noqa: E402

from nova_hwabi import traits as hwabi_traits  # noqa: E402
from nova_hwabi.capabilities import (  # noqa: E402
    LibvirtVersion,
    TraitPolicy,
    host_traits,
    parse_host_capabilities,
)
from nova_hwabi.testing import fixtures as hwabi_fixtures  # noqa: E402
from nova_hwabi.virt.driver import HwabiLibvirtDriver  # noqa: E402
from tests.functional.test_validators_nova_api import (  # noqa: E402
    _api_paste_ini,
)

DRIVER = "hwabi.HwabiLibvirtDriver"
# The fake QEMU's canonical types for the pc and q35 aliases.
PC_VERSIONED = "pc-i440fx-2.11"
Q35_VERSIONED = "pc-q35-2.11"
# maxphysaddr needs libvirt >= 8.7.0; Nova's fake defaults to its minimum.
LIBVIRT_9 = 9000000


class HwabiConnection(fakelibvirt.Connection):
    """Nova's fake connection, made to keep what real libvirt keeps.

    The host CPU may report address bits (``host_bits``), and a defined
    domain keeps its machine type, with an alias expanded to the versioned
    type as libvirt does (Nova's fake always answers ``pc-0.12``).
    ``defined`` holds every domain XML the driver defined, by UUID.
    """

    def __init__(self, *args, host_bits=None, lacks=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.host_bits = host_bits
        self.lacks = lacks
        self.defined = {}
        self.machines = {}

    def getCapabilities(self):  # noqa: N802 (libvirt API name)
        document = super().getCapabilities()
        for machine in self.lacks:  # an older QEMU without these types
            document = re.sub(r"<machine[^>]*>%s</machine>" % re.escape(
                machine), "", document)
        if self.host_bits is None:
            return document
        element = "<maxphysaddr mode='emulate' bits='%d'/>" % self.host_bits
        return re.sub(r"(<host>.*?<cpu>)", r"\1" + element, document,
                      count=1, flags=re.S)

    def _keep_machine(self, domain, document):
        root = etree.fromstring(document)
        uuid = root.findtext("uuid")
        machine = root.find("os/type").get("machine")
        caps = parse_host_capabilities(self.getCapabilities())
        for guest in caps.guests_for(root.find("os/type").get("arch")):
            machine = guest.canonical_machine(machine, "kvm") or machine
        self.defined[uuid] = document
        self.machines[uuid] = machine
        fake_xml_desc = domain.XMLDesc
        domain.XMLDesc = lambda flags: fake_xml_desc(flags).replace(
            "machine='pc-0.12'", "machine='%s'" % self.machines[uuid])
        return domain

    def defineXML(self, xml):  # noqa: N802 (libvirt API name)
        return self._keep_machine(super().defineXML(xml), xml)

    def createXML(self, xml, flags):  # noqa: N802 (libvirt API name)
        return self._keep_machine(super().createXML(xml, flags), xml)


class HwabiDriverTestBase(base.ServersTestBase):
    """ServersTestBase with our driver and SQLAlchemy's noload() muted."""

    microversion = "latest"
    ADMIN_API = True  # hosts, migrations and evacuations are admin-only

    def _setup_services(self):
        # Before the services start: the in-process API needs the paste
        # file pip installed, and Nova's own noload() queries must pass.
        paste = _api_paste_ini()
        if paste is not None:
            self.flags(api_paste_config=paste, group="wsgi")
        self.useFixture(hwabi_fixtures.IgnoreNoloadDeprecation())
        super()._setup_services()

    def setUp(self):
        super().setUp()
        self.context = nova_context.get_admin_context()
        self.flags(hw_machine_type=["x86_64=pc"], group="libvirt")
        q35_image = copy.deepcopy(self.glance.image1)
        q35_image["id"] = uuidsentinel.q35_image
        q35_image["properties"]["hw_machine_type"] = "q35"
        self.glance.create(self.context, q35_image)

    # What the README tells operators to put in nova.conf.
    compute_driver = DRIVER
    driver_class = HwabiLibvirtDriver

    def _setup_compute_service(self):
        self.flags(compute_driver=self.compute_driver)

    def start_hwabi_compute(self, hostname, host_bits=None, lacks=()):
        connection = HwabiConnection(
            "qemu:///system", version=LIBVIRT_9,
            hv_version=fakelibvirt.FAKE_QEMU_VERSION,
            host_info=fakelibvirt.HostInfo(cpu_nodes=1, cpu_sockets=1,
                                           cpu_cores=2, cpu_threads=2),
            hostname=hostname, host_bits=host_bits, lacks=lacks)
        self.start_compute(hostname, connection=connection)
        self.assertIs(type(self.computes[hostname].driver),
                      self.driver_class)
        return hostname

    # -- what happened ----------------------------------------------------

    def connection(self, server):
        host = self.api.get_server(server["id"])["OS-EXT-SRV-ATTR:host"]
        return self.computes[host].driver._host.get_connection()

    def domain_xml(self, server):
        """The domain as libvirt reports it."""
        return self.connection(server).lookupByUUIDString(
            server["id"]).XMLDesc(0)

    def defined_xml(self, server):
        """The last domain XML the driver defined for the server."""
        return self.connection(server).defined[server["id"]]

    def machine(self, server):
        root = etree.fromstring(self.domain_xml(server))
        return root.find("os/type").get("machine")

    def input_devices(self, server):
        """(type, bus) of each <input> the driver last defined, in order
        (the fake connection's own XML leaves keyboards out)."""
        root = etree.fromstring(self.defined_xml(server))
        return [(node.get("type"), node.get("bus"))
                for node in root.findall("devices/input")]

    def system_metadata(self, server):
        return objects.Instance.get_by_uuid(
            self.context, server["id"],
            expected_attrs=["system_metadata"]).system_metadata

    def recorded(self, server):
        metadata = self.system_metadata(server)
        return (metadata.get("image_hw_machine_type"),
                metadata.get("hwabi_machine_type"))

    def boot(self, image=None, **kwargs):
        return self._create_server(
            image_uuid=image or self.glance.image1["id"], networks="none",
            **kwargs)


class TestLoading(HwabiDriverTestBase):

    def test_nova_loads_our_driver_by_its_documented_name(self):
        driver = virt_driver.load_compute_driver(None, DRIVER)
        self.assertIsInstance(driver, HwabiLibvirtDriver)


class TestMachineTypeFlows(HwabiDriverTestBase):

    def setUp(self):
        super().setUp()
        self.start_hwabi_compute("compute1")

    def test_boot_without_hw_machine_type_pins_the_default(self):
        server = self.boot()
        self.assertEqual(PC_VERSIONED, self.machine(server))
        self.assertEqual(("pc", PC_VERSIONED), self.recorded(server))

    def test_boot_with_hw_machine_type_pins_the_image_type(self):
        server = self.boot(image=uuidsentinel.q35_image)
        self.assertEqual(Q35_VERSIONED, self.machine(server))
        self.assertEqual(("q35", Q35_VERSIONED), self.recorded(server))

    def test_spawn_records_devices(self):
        server = self.boot()
        metadata = self.system_metadata(server)
        self.assertEqual("virtio", metadata["image_hw_disk_bus"])

    def test_default_tablet_gets_no_keyboard_at_the_next_definition(self):
        # Nova registers the default USB tablet's bus as hw_input_bus=usb
        # and then adds a USB keyboard when it next defines the guest.
        server = self.boot()
        before = self.input_devices(server)
        self.assertIn(("tablet", "usb"), before)
        self._reboot_server(server, hard=True)
        self.assertEqual(before, self.input_devices(server))
        metadata = self.system_metadata(server)
        self.assertIsNone(metadata.get("image_hw_input_bus"))
        self.assertEqual("usbtablet", metadata["image_hw_pointer_model"])

    def test_hard_reboot_after_default_change_keeps_the_type(self):
        server = self.boot()
        self.flags(hw_machine_type=["x86_64=q35"], group="libvirt")
        self._reboot_server(server, hard=True)
        self.assertEqual(PC_VERSIONED, self.machine(server))
        self.assertEqual(("pc", PC_VERSIONED), self.recorded(server))

    def test_rebuild_chooses_the_type_afresh(self):
        server = self.boot()
        self.flags(hw_machine_type=["x86_64=q35"], group="libvirt")
        self._rebuild_server(server, self.glance.image1["id"])
        self.assertEqual(Q35_VERSIONED, self.machine(server))
        self.assertEqual(("q35", Q35_VERSIONED), self.recorded(server))

    def test_shelve_offload_unshelve_keeps_the_type(self):
        self.flags(shelved_offload_time=0)
        server = self.boot()
        self.flags(hw_machine_type=["x86_64=q35"], group="libvirt")
        server = self._shelve_server(server)
        self.assertEqual(("pc", PC_VERSIONED), self.recorded(server))
        self._unshelve_server(server)
        self.assertEqual(PC_VERSIONED, self.machine(server))

    def test_rescue_defines_the_recorded_type(self):
        # As Nova's own rescue tests: no privsep, and unrescue.xml goes to
        # the test's instances_path.
        self.useFixture(fixtures.MockPatch(
            "nova.virt.libvirt.imagebackend._update_utime_ignore_eacces"))
        self.useFixture(fixtures.MonkeyPatch(
            "nova.virt.libvirt.utils.get_instance_path",
            lambda *args, **kwargs: base.CONF.instances_path))
        server = self.boot()
        self.flags(hw_machine_type=["x86_64=q35"], group="libvirt")
        self._rescue_server(server)
        rescue = etree.fromstring(self.defined_xml(server))
        self.assertEqual(PC_VERSIONED, rescue.find("os/type").get("machine"))

    def test_hard_reboot_refused_before_touching_a_guest_of_a_lost_type(
        self,
    ):
        server = self.boot()
        instance = objects.Instance.get_by_uuid(
            self.context, server["id"], expected_attrs=["system_metadata"])
        instance.system_metadata["hwabi_machine_type"] = "pc-i440fx-99.0"
        instance.save()
        before = self.defined_xml(server)
        self.api.post_server_action(server["id"], {"reboot": {"type":
                                                               "HARD"}})
        self._wait_for_instance_action_event(
            server, "reboot", "compute_reboot_instance", "Success")
        # Nova keeps a still-running guest ACTIVE when its reboot fails and
        # records the fault; ours refused before the guest was destroyed.
        server = self._wait_for_state_change(server, "ACTIVE")
        self.assertEqual(before, self.defined_xml(server))
        fault = objects.InstanceFault.get_latest_for_instance(
            self.context, server["id"]).message
        self.assertIn("pc-i440fx-99.0", fault)
        self.assertIn("compute1", fault)


class TestMoves(HwabiDriverTestBase):

    def setUp(self):
        super().setUp()
        self.start_hwabi_compute("compute1")
        self.start_hwabi_compute("compute2")

    def test_cold_migration_to_a_q35_default_host_keeps_pc(self):
        server = self.boot(host="compute1")
        self.flags(hw_machine_type=["x86_64=q35"], group="libvirt")
        # As Nova's own libvirt tests do: the fake has no disks to move.
        with mock.patch(
            "nova.virt.libvirt.driver.LibvirtDriver"
            ".migrate_disk_and_power_off", return_value="{}",
        ):
            server = self._migrate_server(server)
        self._confirm_resize(server)
        self.assertEqual("compute2", self.api.get_server(
            server["id"])["OS-EXT-SRV-ATTR:host"])
        self.assertEqual(PC_VERSIONED, self.machine(server))
        self.assertEqual(("pc", PC_VERSIONED), self.recorded(server))

    def test_evacuation_keeps_the_type(self):
        server = self.boot(host="compute1")
        self.flags(hw_machine_type=["x86_64=q35"], group="libvirt")
        self.computes["compute1"].stop()
        service = self.api.get_services(host="compute1",
                                        binary="nova-compute")[0]
        self.api.put_service(service["id"], {"forced_down": True})
        # From API 2.95 an evacuated guest is defined but left stopped.
        server = self._evacuate_server(server, expected_host="compute2")
        self.assertEqual(PC_VERSIONED, self.machine(server))
        self.assertEqual(("pc", PC_VERSIONED), self.recorded(server))


class TestUpstreamColdMigration(HwabiDriverTestBase):
    """The same cold migration under Nova 34's own driver (defect 6)."""

    compute_driver = "libvirt.LibvirtDriver"
    driver_class = libvirt_driver.LibvirtDriver

    def setUp(self):
        super().setUp()
        self.start_hwabi_compute("compute1")
        self.start_hwabi_compute("compute2")

    def test_stock_driver_rebuilds_pc_as_the_destination_default(self):
        server = self.boot(host="compute1")
        self.flags(hw_machine_type=["x86_64=q35"], group="libvirt")
        with mock.patch(
            "nova.virt.libvirt.driver.LibvirtDriver"
            ".migrate_disk_and_power_off", return_value="{}",
        ):
            server = self._migrate_server(server)
        self._confirm_resize(server)
        # Booted as pc; the move took the destination's default and
        # overwrote the record with it: a new chipset under the guest.
        self.assertEqual(Q35_VERSIONED, self.machine(server))
        self.assertEqual("q35", self.recorded(server)[0])


class TestLiveMigrationPreCheck(HwabiDriverTestBase):

    def setUp(self):
        super().setUp()
        self.start_hwabi_compute("compute1")
        # An older QEMU: no pc-i440fx-2.11, the type pc pins on compute1.
        self.start_hwabi_compute("old-qemu", lacks=(PC_VERSIONED, "pc"))

    def test_destination_without_the_pinned_type_refuses(self):
        server = self.boot(host="compute1")
        before = self.defined_xml(server)
        # The destination's pre-check fails, so Nova finds no valid host.
        error = self.assertRaises(
            client.OpenStackApiException, self.api.post_server_action,
            server["id"], {"os-migrateLive": {"host": "old-qemu",
                                              "block_migration": "auto"}})
        self.assertIn("NoValidHost", str(error))
        server = self.api.get_server(server["id"])
        self.assertEqual("compute1", server["OS-EXT-SRV-ATTR:host"])
        self.assertEqual("ACTIVE", server["status"])
        self.assertEqual(before, self.defined_xml(server))
        self.assertEqual(("pc", PC_VERSIONED), self.recorded(server))


class TestStartup(HwabiDriverTestBase):

    def test_restart_records_instances_nova_left_unrecorded(self):
        self.start_hwabi_compute("compute1")
        servers = [self.boot(), self.boot(image=uuidsentinel.q35_image)]
        bad, legacy = self.boot(), self.boot()
        for server in [*servers, bad, legacy]:
            instance = objects.Instance.get_by_uuid(
                self.context, server["id"],
                expected_attrs=["system_metadata"])
            for key in ("image_hw_machine_type", "hwabi_machine_type",
                        "image_hw_disk_bus"):
                instance.system_metadata.pop(key, None)
            instance.save()
        # A guest whose running type the grammar refuses must not stop the
        # others being recorded; pc-1.0-qemu-kvm, which QEMU lists (and the
        # grammar once refused), is recorded like any other.
        connection = self.computes["compute1"].driver._host.get_connection()
        connection.machines[bad["id"]] = "pc-q35-5x2junk"
        connection.machines[legacy["id"]] = "pc-1.0-qemu-kvm"
        self.restart_compute_service("compute1")
        # What nova-hwabi-manage machine-type record records: the type the
        # running domain has, in Nova's key and as the pin.
        self.assertEqual((PC_VERSIONED, PC_VERSIONED),
                         self.recorded(servers[0]))
        self.assertEqual((Q35_VERSIONED, Q35_VERSIONED),
                         self.recorded(servers[1]))
        self.assertEqual("virtio",
                         self.system_metadata(servers[0])["image_hw_disk_bus"])
        self.assertEqual(("pc-1.0-qemu-kvm", "pc-1.0-qemu-kvm"),
                         self.recorded(legacy))
        # Nova's own defaults still reach the refused one.
        self.assertEqual("pc", self.recorded(bad)[0])


class TestMaxPhysAddr(HwabiDriverTestBase):

    def setUp(self):
        super().setUp()
        self.start_hwabi_compute("narrow", host_bits=40)
        self.start_hwabi_compute("wide", host_bits=48)

    def test_emulate_46_bits_lands_on_the_wide_host_only(self):
        flavor = self._create_flavor(extra_spec={
            "hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "46"})
        for _ in range(3):
            server = self.boot(flavor_id=flavor)
            self.assertEqual("wide", self.api.get_server(
                server["id"])["OS-EXT-SRV-ATTR:host"])
            cpu = etree.fromstring(self.defined_xml(server)).find("cpu")
            element = cpu.find("maxphysaddr")
            self.assertEqual({"mode": "emulate", "bits": "46"},
                             dict(element.attrib))


class TestTraits(HwabiDriverTestBase):

    OPERATOR_TRAIT = "CUSTOM_OPERATOR_RACK_7"
    STALE_TRAIT = hwabi_traits.machine_type_trait("x86_64", "pc-i440fx-1.0x")

    def setUp(self):
        super().setUp()
        self.flags(report_bits_ladder=True, bits_ladder_min=44,
                   report_machine_type_traits=True,
                   group="hwabi_capabilities")
        self.start_hwabi_compute("compute1", host_bits=46)

    def provider_traits(self):
        rp = self.compute_rp_uuids["compute1"]
        return set(self.placement.get(
            "/resource_providers/%s/traits" % rp, version="1.6"
        ).body["traits"])

    def decided(self):
        driver = self.computes["compute1"].driver
        connection = driver._host.get_connection()
        return host_traits(
            parse_host_capabilities(connection.getCapabilities()),
            LibvirtVersion.from_int(connection.getLibVersion()),
            TraitPolicy.from_conf(base.CONF)).traits

    def add_traits(self, *names):
        rp = self.compute_rp_uuids["compute1"]
        for name in names:
            self.placement.put("/traits/%s" % name, None, version="1.6")
        current = self.placement.get("/resource_providers/%s/traits" % rp,
                                     version="1.6").body
        body = {"traits": sorted(set(current["traits"]) | set(names)),
                "resource_provider_generation":
                    current["resource_provider_generation"]}
        self.placement.put("/resource_providers/%s/traits" % rp, body,
                           version="1.6")

    def test_periodic_update_reports_exactly_our_decision(self):
        before = self.provider_traits()
        self.add_traits(self.OPERATOR_TRAIT, self.STALE_TRAIT)
        # nova-compute reads its provider's traits again after
        # [compute] resource_provider_association_refresh; do it now.
        self.computes["compute1"].manager.rt.reportclient.clear_provider_cache()
        self._run_periodics()
        after = self.provider_traits()
        decided = self.decided()
        owned = {t for t in after if hwabi_traits.is_owned(t)}
        self.assertEqual(decided, owned)
        # virt_type kvm with host-model CPUs: passthrough cannot work, so
        # the resource tracker itself must not report it.
        self.assertNotIn(hwabi_traits.ADDRESS_SPACE_PASSTHROUGH, after)
        self.assertIn(hwabi_traits.ADDRESS_SPACE_EMULATED, after)
        self.assertIn(hwabi_traits.bits_trait(46), after)
        self.assertNotIn(hwabi_traits.bits_trait(47), after)
        self.assertIn(hwabi_traits.machine_type_trait("x86_64",
                                                      PC_VERSIONED), after)
        self.assertIn(self.OPERATOR_TRAIT, after)
        self.assertNotIn(self.STALE_TRAIT, after)
        # Nova's own traits are untouched.
        nova_traits = {t for t in before if not hwabi_traits.is_owned(t)}
        self.assertLessEqual(nova_traits, after)
        self.assertIn("COMPUTE_NODE", after)
