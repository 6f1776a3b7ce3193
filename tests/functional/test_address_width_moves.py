"""Moves keep a passthrough guest's address width, in Nova's framework.

Nova's ``ServersTestBase`` (real API, conductor, scheduler, compute
services, Nova's databases and Placement fixture) with five computes
running nova-hwabi's driver over Nova's fake libvirt connection, whose
host CPUs report 39, 46, 48, 48 and 52 address bits. The driver reports
the bits ladder to Placement and records each guest's width; Nova's
scheduler picks destinations for live migration, cold migration,
evacuation and unshelve of a passthrough guest and of an emulated one.
Hosts the narrowing must choose are made the least attractive to Nova's
RAM weigher (``fill``), so a test fails when the narrowing is missing.

Two ways, one class each, same tests: Placement-side (the ``address_width``
request filter through nova-hwabi's dispatcher, ``require_bits_ladder``,
no width host filter) and host-side (``AddressWidthFilter`` enabled, no
ladder required).
"""

import importlib
import re
import time
from unittest import mock
from urllib.parse import urlparse

importlib.import_module("nova.tests.functional")

import fixtures  # noqa: E402
from lxml import etree  # noqa: E402
from nova import objects  # noqa: E402
from nova.tests.fixtures import libvirt as fakelibvirt  # noqa: E402
from nova.tests.functional.api import client  # noqa: E402
from nova.tests.functional.libvirt import base  # noqa: E402

from nova_hwabi import address_width as aw  # noqa: E402
from nova_hwabi import request_filters, traits  # noqa: E402
from nova_hwabi.virt.driver import HwabiLibvirtDriver  # noqa: E402
from tests.functional.test_compute_driver import (  # noqa: E402
    LIBVIRT_9,
    HwabiConnection,
    HwabiDriverTestBase,
)

CONF = base.CONF
HOSTS = {"w39": 39, "w46": 46, "w48a": 48, "w48b": 48, "w52": 52}
PASSTHROUGH = {"hw:maxphysaddr_mode": "passthrough"}
EMULATE_46 = {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "46"}


class WidthConnection(HwabiConnection):
    """The driver test's connection, keeping the guest ``<cpu>`` too.

    Real libvirt returns the ``<cpu>`` (with ``<maxphysaddr>``) a domain
    was defined with; Nova's fake drops it from XMLDesc.
    """

    def _keep_machine(self, domain, document):
        domain = super()._keep_machine(domain, document)
        cpu = re.search(r"<cpu\b.*?</cpu>", document, flags=re.S)
        if cpu is not None:
            described = domain.XMLDesc
            domain.XMLDesc = lambda flags: described(flags).replace(
                "</os>", "</os>" + cpu.group(0), 1)
        return domain


class _Moves:
    """The tests; a subclass chooses Placement-side or host-side."""

    def setUp(self):
        super().setUp()
        self.flags(cpu_mode="host-passthrough", virt_type="kvm",
                   group="libvirt")
        self.flags(report_bits_ladder=True, group="hwabi_capabilities")
        request_filters.register_with_nova(CONF)
        self.addCleanup(request_filters.unregister_from_nova)
        self.useFixture(fixtures.MonkeyPatch(
            "nova.tests.fixtures.libvirt.Domain.migrateToURI3",
            self._migrate_stub))
        for hostname, bits in HOSTS.items():
            self._start_width_compute(hostname, bits)
        self.passthrough = self._create_flavor(extra_spec=PASSTHROUGH)
        self.emulate = self._create_flavor(extra_spec=EMULATE_46)
        self.filler = self._create_flavor(memory_mb=8192, vcpu=1)

    # -- the fleet ---------------------------------------------------------

    def _start_width_compute(self, hostname, bits):
        connection = WidthConnection(
            "qemu:///system", version=LIBVIRT_9,
            hv_version=fakelibvirt.FAKE_QEMU_VERSION,
            host_info=fakelibvirt.HostInfo(cpu_nodes=1, cpu_sockets=1,
                                           cpu_cores=2, cpu_threads=2),
            hostname=hostname, host_bits=bits)
        self.start_compute(hostname, connection=connection)
        self.assertIsInstance(self.computes[hostname].driver,
                              HwabiLibvirtDriver)

    def _migrate_stub(self, domain, destination, params, flags):
        # As Nova's LibvirtMigrationMixin, for any destination: the guest
        # appears there with the XML Nova's source side computed for it.
        hostname = urlparse(destination).hostname
        self.computes[hostname].driver._host.get_connection().createXML(
            params["destination_xml"], "flags-not-used-by-the-fake")
        domain.complete_job()

    def _disable(self, *hostnames):
        for hostname in hostnames:
            service = self.api.get_services(host=hostname,
                                            binary="nova-compute")[0]
            self.api.put_service(service["id"], {"status": "disabled"})

    def fill(self, *hostnames):
        """Use half the RAM of these hosts: Nova's RAMWeigher then prefers
        every other host, so only our narrowing can choose these."""
        for hostname in hostnames:
            self.boot_on(hostname, self.filler)

    def host(self, server):
        return self.api.get_server(server["id"])["OS-EXT-SRV-ATTR:host"]

    def recorded(self, server):
        return aw.recorded_width(objects.Instance.get_by_uuid(
            self.context, server["id"],
            expected_attrs=["system_metadata"]).system_metadata)

    def guest_maxphysaddr(self, server):
        """The guest's <maxphysaddr> attributes, as libvirt reports them."""
        element = etree.fromstring(self.domain_xml(server)).find(
            "cpu/maxphysaddr")
        return dict(element.attrib)

    def boot_on(self, hostname, flavor):
        server = self.boot(flavor_id=flavor, host=hostname)
        self.assertEqual(hostname, self.host(server))
        return server

    # -- moves -------------------------------------------------------------

    def migrations(self, server):
        return [m for m in self.api.api_get("/os-migrations").body[
            "migrations"] if m["instance_uuid"] == server["id"]]

    def wait_for_new_migration(self, server, seen, status, timeout=120):
        """The first migration of ``server`` not in ``seen`` (ids) that
        reaches ``status``. Nova's helper returns any migration of the
        server with that status, an earlier one included."""
        deadline = time.monotonic() + timeout
        while True:
            for migration in self.migrations(server):
                if (migration["id"] not in seen
                        and migration["status"] == status):
                    return migration
            if time.monotonic() > deadline:
                self.fail("no new %s migration of %s: %s" % (
                    status, server["id"], self.migrations(server)))
            time.sleep(0.2)

    def live_migrate(self, server):
        seen = {m["id"] for m in self.migrations(server)}
        # The fake connection's job statistics mean nothing, and under
        # Nova 33's threading mode their save from the migration monitor
        # fails ("Can't upgrade a READER transaction to a WRITER").
        with mock.patch("nova.virt.libvirt.migration.save_stats"):
            self.api.post_server_action(
                server["id"], {"os-migrateLive": {"host": None,
                                                  "block_migration": "auto"}})
            self.wait_for_new_migration(server, seen, "completed")
        return self._wait_for_state_change(server, "ACTIVE")

    def cold_migrate(self, server):
        # As Nova's own libvirt tests do: the fake has no disks to move.
        with mock.patch(
            "nova.virt.libvirt.driver.LibvirtDriver"
            ".migrate_disk_and_power_off", return_value="{}",
        ):
            server = self._migrate_server(server)
        return self._confirm_resize(server)

    def evacuate(self, server):
        source = self.host(server)
        self.computes[source].stop()
        service = self.api.get_services(host=source,
                                        binary="nova-compute")[0]
        self.api.put_service(service["id"], {"forced_down": True})
        # From API 2.95 an evacuated guest is defined but left stopped.
        return self._evacuate_server(server)

    def assert_no_valid_host_for_live_migration(self, server):
        source = self.host(server)
        seen = {m["id"] for m in self.migrations(server)}
        try:
            self.api.post_server_action(
                server["id"], {"os-migrateLive": {"host": None,
                                                  "block_migration":
                                                      "auto"}})
        except client.OpenStackApiException as exc:
            self.assertIn("NoValidHost", str(exc))
        else:
            self.wait_for_new_migration(server, seen, "error")
        server = self._wait_for_state_change(server, "ACTIVE")
        self.assertEqual(source, self.host(server))

    # -- the tests ---------------------------------------------------------

    def test_boot_records_the_width_the_guest_runs_with(self):
        for hostname in ("w39", "w52"):
            server = self.boot_on(hostname, self.passthrough)
            self.assertEqual(aw.RecordedWidth("passthrough",
                                              HOSTS[hostname]),
                             self.recorded(server))
            self.assertEqual({"mode": "passthrough"},
                             self.guest_maxphysaddr(server))
        server = self.boot_on("w52", self.emulate)
        self.assertEqual(aw.RecordedWidth("emulate", 46),
                         self.recorded(server))

    def test_live_migration_keeps_a_passthrough_guest_on_its_width(self):
        server = self.boot_on("w48a", self.passthrough)
        self.fill("w48a", "w48b")
        for expected in ("w48b", "w48a", "w48b"):
            server = self.live_migrate(server)
            self.assertEqual(expected, self.host(server))
            self.assertEqual(48, self.recorded(server).bits)
            self.assertEqual({"mode": "passthrough"},
                             self.guest_maxphysaddr(server))

    def test_live_migration_without_a_host_of_its_width_fails_early(self):
        server = self.boot_on("w46", self.passthrough)
        self.assert_no_valid_host_for_live_migration(server)
        self.assertIn(self.EXPLAINED % 46, self.stdlog.logger.output)
        self.assertEqual(46, self.recorded(server).bits)

    def test_live_migration_any_is_novas_behaviour(self):
        self.flags(live_move_address_width="any", group="hwabi_scheduler")
        server = self.boot_on("w46", self.passthrough)
        self._disable("w48a", "w48b", "w52")
        server = self.live_migrate(server)
        self.assertEqual("w39", self.host(server))
        self.assertEqual(39, self.recorded(server).bits)

    def test_cold_migration_at_least_never_narrows(self):
        server = self.boot_on("w48a", self.passthrough)
        self._disable("w48b")
        self.fill("w52")
        server = self.cold_migrate(server)
        # Only w52 has at least 48 bits; the record follows the guest.
        self.assertEqual("w52", self.host(server))
        self.assertEqual(52, self.recorded(server).bits)

    def test_cold_migration_same_keeps_the_width(self):
        self.flags(cold_move_address_width="same", group="hwabi_scheduler")
        server = self.boot_on("w48a", self.passthrough)
        self.fill("w48a", "w48b")
        for expected in ("w48b", "w48a"):
            server = self.cold_migrate(server)
            self.assertEqual(expected, self.host(server))
            self.assertEqual(48, self.recorded(server).bits)

    def test_evacuation_same_keeps_the_width(self):
        self.flags(cold_move_address_width="same", group="hwabi_scheduler")
        server = self.boot_on("w48a", self.passthrough)
        self.fill("w48b")
        server = self.evacuate(server)
        self.assertEqual("w48b", self.host(server))
        self.assertEqual(48, self.recorded(server).bits)

    def test_evacuation_at_least_never_narrows(self):
        server = self.boot_on("w48a", self.passthrough)
        self._disable("w48b")
        self.fill("w52")
        server = self.evacuate(server)
        self.assertEqual("w52", self.host(server))
        self.assertEqual(52, self.recorded(server).bits)

    def change_host_bits(self, hostname, bits):
        """The host's CPU now reports ``bits`` (new firmware, libvirt or
        CPU); nova-compute restarts, its guests keep running."""
        connection = self.computes[hostname].driver._host.get_connection()
        connection.host_bits = bits
        self.restart_compute_service(hostname, keep_hypervisor_state=True)

    def test_a_running_guest_keeps_its_width_after_a_host_cpu_change(self):
        server = self.boot_on("w48a", self.passthrough)
        self.change_host_bits("w48a", 46)
        self.assertEqual(48, self.recorded(server).bits)
        self.fill("w48b")
        server = self.live_migrate(server)
        self.assertEqual("w48b", self.host(server))

    def test_a_hard_reboot_after_a_host_cpu_change_records_the_new_width(
        self,
    ):
        server = self.boot_on("w48a", self.passthrough)
        self.change_host_bits("w48a", 46)
        server = self._reboot_server(server, hard=True)
        self.assertEqual(46, self.recorded(server).bits)
        server = self.live_migrate(server)
        self.assertEqual("w46", self.host(server))

    def test_unshelve_at_least_never_narrows(self):
        self.flags(shelved_offload_time=0)
        server = self.boot_on("w48a", self.passthrough)
        server = self._shelve_server(server)
        self._disable("w48a", "w48b")
        self.fill("w52")
        server = self._unshelve_server(server)
        self.assertEqual("w52", self.host(server))
        self.assertEqual(52, self.recorded(server).bits)

    def test_emulated_guest_moves_to_any_host_with_its_bits(self):
        server = self.boot_on("w48a", self.emulate)
        # Narrower than the source, still at least 46 bits: allowed.
        self._disable("w48b", "w52")
        self.fill("w46")
        server = self.live_migrate(server)
        self.assertEqual("w46", self.host(server))
        server = self.cold_migrate(server)
        self.assertEqual("w48a", self.host(server))
        server = self.evacuate(server)
        self.assertEqual("w46", self.host(server))
        self.assertEqual({"mode": "emulate", "bits": "46"},
                         self.guest_maxphysaddr(server))
        self.assertEqual(aw.RecordedWidth("emulate", 46),
                         self.recorded(server))


class TestMovesPlacementSide(_Moves, HwabiDriverTestBase):
    """The bits ladder: Placement returns only hosts of the width."""

    EXPLAINED = "destination must have exactly %d bits"

    def setUp(self):
        super().setUp()
        self.flags(require_bits_ladder=True, group="hwabi_scheduler")

    def test_placement_returns_exactly_the_hosts_of_the_width(self):
        query = ("/allocation_candidates?resources=VCPU:1&required=%s,!%s"
                 % (traits.bits_trait(48), traits.bits_trait(49)))
        body = self.placement.get(query, version="1.35").body
        providers = set(body["provider_summaries"])
        self.assertEqual({self.compute_rp_uuids["w48a"],
                          self.compute_rp_uuids["w48b"]}, providers)


class TestMovesHostSide(_Moves, HwabiDriverTestBase):
    """No ladder required: AddressWidthFilter rejects the other widths."""

    EXPLAINED = "the move needs exactly %d bits"

    def _setup_scheduler_service(self):
        # What the README tells operators to add, before the scheduler
        # loads its filters.
        self.flags(require_bits_ladder=False, group="hwabi_scheduler")
        self.flags(available_filters=[
            "nova.scheduler.filters.all_filters",
            "nova_hwabi.filters.all_filters"], group="filter_scheduler")
        self.flags(enabled_filters=[
            *CONF.filter_scheduler.enabled_filters, "AddressWidthFilter"],
            group="filter_scheduler")
        return super()._setup_scheduler_service()
