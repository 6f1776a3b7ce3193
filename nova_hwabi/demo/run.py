"""The end-to-end demo, step by step, with a verdict per request and guest.

Act 1, the address-space half:

1. start a real Placement (openstack-placement) on 127.0.0.1 with sqlite;
2. register the shipped sample hosts as compute node providers;
3. sync each host's traits (address space and bits ladder) into Placement;
4. run boot requests through the request translator, Placement's
   ``GET /allocation_candidates`` with the required traits, and Nova's
   HostManager with nova-hwabi's filters, printing the candidates, the hosts
   that pass and why each other host fails.

Act 2, the ABI half (:mod:`nova_hwabi.demo.abi`): instances recorded in
Nova's real databases, ``[libvirt] hw_machine_type`` changed from ``pc``
to ``q35``, what keeps each guest's chipset, and the drift audit.

Each request and guest has an expected outcome; any mismatch or failed
step makes the demo exit non-zero.
"""

from __future__ import annotations

import concurrent.futures
import logging
import sys
import tempfile
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from nova_hwabi import placement
from nova_hwabi.address_space import (
    AddressSpaceRequestError,
    translate,
)
from nova_hwabi.capabilities.reported_traits import TraitPolicy
from nova_hwabi.capabilities.samples import sample_names
from nova_hwabi.demo import abi
from nova_hwabi.demo import fleet as demo_fleet
from nova_hwabi.machine_type import names
from nova_hwabi.testing.cells import (
    DatabaseSetupError,
    NovaDatabases,
    setup_nova,
)
from nova_hwabi.testing.placement_server import (
    EmbeddedPlacement,
    PlacementAdmin,
    PlacementAdminError,
)

if TYPE_CHECKING:
    # Imports Nova's scheduler; the demo imports it once Nova is set up.
    from nova_hwabi.testing.inprocess import DetachedHostManager

CANDIDATES_MICROVERSION = "1.35"
SETUP_MICROVERSION = "1.39"
RESOURCES = "VCPU:1,MEMORY_MB:512,DISK_GB:1"

DEBIAN12 = "compute-x86-debian12"
MULTIARCH = "compute-x86-multiarch"
EPYC = "compute-epyc-52bits"
NUMA4 = "compute-numa4-39bits"
ARM = "compute-arm64"


@dataclass(frozen=True)
class BootRequest:
    """A flavor's extra specs and an image's properties, and what to expect."""

    title: str
    extra_specs: dict[str, str] = field(default_factory=dict)
    image: dict[str, Any] = field(default_factory=dict)
    expected: frozenset[str] | None = None  # None: every host
    bits_ladder: bool = True


REQUESTS = (
    BootRequest("plain boot, no maxphysaddr"),
    BootRequest("flavor emulate 46 bits",
                {"hw:maxphysaddr_mode": "emulate",
                 "hw:maxphysaddr_bits": "46"},
                expected=frozenset({DEBIAN12, MULTIARCH, EPYC})),
    BootRequest("flavor emulate 46 bits, Placement without the bits "
                "ladder (as Nova alone)",
                {"hw:maxphysaddr_mode": "emulate",
                 "hw:maxphysaddr_bits": "46"},
                expected=frozenset({DEBIAN12, MULTIARCH, EPYC}),
                bits_ladder=False),
    BootRequest("flavor emulate 52 bits",
                {"hw:maxphysaddr_mode": "emulate",
                 "hw:maxphysaddr_bits": "52"},
                expected=frozenset({EPYC})),
    BootRequest("flavor passthrough", {"hw:maxphysaddr_mode": "passthrough"},
                expected=frozenset({EPYC})),
    BootRequest("image emulate 40 bits, x86_64",
                image={"hw_maxphysaddr_mode": "emulate",
                       "hw_maxphysaddr_bits": 40,
                       "hw_architecture": "x86_64"},
                expected=frozenset({DEBIAN12, MULTIARCH, EPYC})),
    BootRequest("image for aarch64 guests", image={"hw_architecture":
                                                   "aarch64"},
                expected=frozenset({ARM, MULTIARCH})),
    BootRequest("invalid flavor: hw:maxphysaddr_bits=abc",
                {"hw:maxphysaddr_mode": "emulate",
                 "hw:maxphysaddr_bits": "abc"},
                expected=frozenset()),
)


class Demo:
    """State shared by the demo's steps."""

    def __init__(self, out: TextIO = sys.stdout) -> None:
        self.out = out
        self.started = time.monotonic()
        self.placement_service: EmbeddedPlacement | None = None
        self.admin: PlacementAdmin | None = None
        self.fleet: list[demo_fleet.FleetHost] = []
        self.uuids: dict[str, str] = {}

    def _placement(self) -> tuple[EmbeddedPlacement, PlacementAdmin]:
        """Placement and its admin client, once start_placement() ran."""
        if self.placement_service is None or self.admin is None:
            raise RuntimeError("start_placement() must run first")
        return self.placement_service, self.admin

    def say(self, text: str = "") -> None:
        """One line of output, flushed so progress shows as it happens."""
        print(text, file=self.out, flush=True)

    # --- step 1 -----------------------------------------------------------
    def start_placement(self) -> None:
        """Start Placement and an admin client for setting it up."""
        self.say("[1/4] Starting Placement (openstack-placement) on "
                 "127.0.0.1 with sqlite ...")
        started = time.monotonic()
        self.placement_service = EmbeddedPlacement().start()
        self.admin = PlacementAdmin(self.placement_service,
                                    SETUP_MICROVERSION)
        self.say("      ready at %s (%.1f s)" % (
            self.placement_service.endpoint, time.monotonic() - started))

    # --- step 2 -----------------------------------------------------------
    def register_fleet(self, policy: TraitPolicy) -> None:
        """Create one compute node provider per sample host."""
        self.fleet = demo_fleet.build_fleet(policy)
        self.say("[2/4] Registering %d sample hosts as resource providers"
                 % len(self.fleet))
        self.say("      %-22s %-8s %-5s %-8s %-17s %s" % (
            "host", "arch", "bits", "libvirt", "cpu_mode", "inventory"))
        _, admin = self._placement()
        for host in self.fleet:
            created = admin.create_provider(host.name, host.inventory)
            self.uuids[host.name] = created["uuid"]
            self.say("      %-22s %-8s %-5s %-8s %-17s %s" % (
                host.name, host.report.capabilities.cpu.arch,
                host.bits or "-", host.report.libvirt_version,
                host.cpu_mode, ", ".join(
                    "%s %d" % item for item in host.inventory.items()),
            ))

    # --- step 3 -----------------------------------------------------------
    def sync_traits(self) -> None:
        """Sync every host's traits with nova-hwabi's sync code."""
        self.say("[3/4] Syncing traits into Placement (nova-hwabi-report "
                 "--sync does the same per host)")
        service, _ = self._placement()
        client = placement.PlacementClient(service.keystone_adapter())
        for host in self.fleet:
            result = placement.sync_provider_traits(
                client, client.provider(self.uuids[host.name]),
                host.report.traits.traits,
            )
            self.say("      %-22s %s" % (host.name, _summary(result)))

    # --- step 4 -----------------------------------------------------------
    def run_requests(self, manager: DetachedHostManager) -> list[str]:
        """Each boot request through translator, Placement and filters."""
        self.say("[4/4] Boot requests: translator -> Placement "
                 "allocation candidates -> host filters")
        failures = []
        for number, request in enumerate(REQUESTS, 1):
            passed = self._run_request(number, request, manager)
            expected = (request.expected if request.expected is not None
                        else frozenset(self.uuids))
            verdict = "as expected" if passed == expected else "UNEXPECTED"
            if passed != expected:
                failures.append(request.title)
                self.say("      expected: %s" % _names(expected))
            self.say("      => %s" % verdict)
        return failures

    def _run_request(self, number: int, request: BootRequest,
                     manager: DetachedHostManager) -> frozenset[str]:
        self.say()
        self.say("  %d. %s" % (number, request.title))
        self.say("      flavor %s, image %s" % (
            request.extra_specs or "{}", request.image or "{}"))
        try:
            translated = translate(request.extra_specs, request.image,
                                   bits_ladder=request.bits_ladder)
            required = sorted(translated.required_traits)
            self.say("      translator: %s; requires %s" % (
                translated.describe(), ", ".join(required) or "no trait"))
            candidates = self._candidates(required)
        except AddressSpaceRequestError as exc:
            self.say("      translator: refused: %s" % exc)
            self.say("      (nova-api with nova-hwabi's validators refuses "
                     "such a flavor; had it got through, the filters say:)")
            candidates = [host.name for host in self.fleet]
        self.say("      Placement: %d candidate(s): %s" % (
            len(candidates), _names(candidates)))
        return self._filter(request, candidates, manager)

    def _candidates(self, required: list[str]) -> list[str]:
        query = "/allocation_candidates?resources=%s" % RESOURCES
        if required:
            query += "&required=%s" % ",".join(required)
        _, admin = self._placement()
        data = admin.call("GET", query,
                               microversion=CANDIDATES_MICROVERSION)
        by_uuid = {uuid: name for name, uuid in self.uuids.items()}
        return sorted(by_uuid[uuid]
                      for uuid in data.json()["provider_summaries"])

    def _filter(self, request: BootRequest, candidates: list[str],
                manager: DetachedHostManager) -> frozenset[str]:
        from nova_hwabi.testing import inprocess

        spec = inprocess.request_spec(request.extra_specs, request.image)
        states = [h.host_state for h in self.fleet if h.name in candidates]
        passed = frozenset(
            state.host for state in manager.get_filtered_hosts(states, spec)
        )
        self.say("      filters: %d pass: %s" % (len(passed), _names(passed)))
        for state in states:
            if state.host not in passed:
                self.say("        rejected %s: %s" % (
                    state.host, _reason(manager, state, spec)))
        return passed

    def close(self) -> None:
        """Stop Placement and remove its files."""
        if self.placement_service is not None:
            self.placement_service.close()


def _summary(result: placement.SyncResult) -> str:
    ladder = sorted((t for t in result.added if "_BITS_" in t),
                    key=lambda t: int(t.rsplit("_", 1)[1]))
    others = sorted(t for t in result.added if "_BITS_" not in t)
    parts = list(others)
    if ladder:
        parts.append("bits ladder %s..%s" % (ladder[0].rsplit("_", 1)[1],
                                             ladder[-1].rsplit("_", 1)[1]))
    return "added " + ", ".join(parts) if parts else "no nova-hwabi traits"


def _names(names: Iterable[str]) -> str:
    return ", ".join(sorted(names)) or "none"


def _reason(manager: DetachedHostManager, state: Any, spec: Any) -> str:
    for host_filter in manager.enabled_filters:
        reject_reason = getattr(host_filter, "reject_reason", None)
        if reject_reason is None:
            if not host_filter.host_passes(state, spec):
                return type(host_filter).__name__
            continue
        reason = reject_reason(state, host_filter.prepare(spec))
        if reason is not None:
            return "%s: %s" % (type(host_filter).__name__, reason)
    return "unknown"


def _host_manager() -> DetachedHostManager:
    """Nova's HostManager with our filters; Nova's configuration must be
    parsed already (act 2's nova.conf)."""
    import nova.conf

    from nova_hwabi.testing import inprocess

    conf = nova.conf.CONF
    conf.set_override("available_filters", [
        "nova.scheduler.filters.all_filters",
        "nova_hwabi.filters.all_filters",
    ], group="filter_scheduler")
    conf.set_override("enabled_filters", [
        "ComputeCapabilitiesFilter", "ImagePropertiesFilter",
    ], group="filter_scheduler")
    return inprocess.DetachedHostManager()


def run(out: TextIO = sys.stdout) -> int:
    """Run the demo; 0 when every step worked and every verdict held."""
    warnings.simplefilter("ignore")
    demo = Demo(out)
    workdir = tempfile.TemporaryDirectory(prefix="nova-hwabi-demo-")
    pool = concurrent.futures.ThreadPoolExecutor(1)
    demo.say("nova-hwabi demo: a real Placement, %d sample hosts, %d boot "
             "requests; then %d guests across a new default machine type" % (
                 len(sample_names()), len(REQUESTS),
                 len(abi.GUESTS)))
    try:
        # Nova's configuration is process-wide: parsed once, from the
        # nova.conf naming act 2's databases.
        databases = NovaDatabases(Path(workdir.name))
        ctxt = setup_nova(databases.conf, "nova-hwabi-demo")
        # Act 2's databases are created while Placement starts (in
        # processes of its own) and act 1 runs.
        creating = pool.submit(databases.create)
        demo.say()
        demo.say("Act 1: the address-space half (maxphysaddr)")
        demo.start_placement()
        demo.register_fleet(TraitPolicy(report_bits_ladder=True))
        demo.sync_traits()
        failures = demo.run_requests(_host_manager())
        demo.say()
        demo.say("Act 2: the ABI half (machine types), on Nova's "
                 "databases")
        guest_failures = abi.run_act(demo.say, creating.result(), ctxt)
    except (PlacementAdminError, placement.PlacementError,
            DatabaseSetupError, names.MachineTypeError) as exc:
        demo.say("demo failed: %s" % exc)
        return 1
    except Exception as exc:
        # A bug rather than a refused step: say so, keep the traceback for
        # --verbose.
        logging.getLogger(__name__).debug("demo failed", exc_info=True)
        demo.say("demo failed unexpectedly: %s: %s (run with --verbose "
                 "for the traceback)" % (type(exc).__name__, exc))
        return 1
    finally:
        pool.shutdown(wait=True)
        demo.close()
        workdir.cleanup()
    demo.say()
    demo.say("%d requests, %s; %d guests, %s (%.1f s)" % (
        len(REQUESTS), _outcome(failures), len(abi.GUESTS),
        _outcome(guest_failures), time.monotonic() - demo.started,
    ))
    return 1 if failures or guest_failures else 0


def _outcome(failures: list[str]) -> str:
    if not failures:
        return "all as expected"
    return "%d unexpected: %s" % (len(failures), "; ".join(failures))
