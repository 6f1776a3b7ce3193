"""Trait sync and allocation candidates on a real Placement, 1,000 hosts.

Starts openstack-placement on 127.0.0.1 with sqlite (the harness's
EmbeddedPlacement) and registers compute node providers for a fleet whose
hosts cycle through maxphysaddr widths of 39, 42, 46, 48 and 52 bits and
none. Each host's traits are decided by nova-hwabi's own ``host_traits``
(the sample host x86_64-kvm-debian12, libvirt 9.0.0, with its
``<maxphysaddr bits>`` varied; bits ladder on), and every provider also
carries traits that are not ours (Nova's, an operator's).

1. Trait sync, over ``--providers`` hosts, through PlacementClient (from a
   nova.conf ``[placement]`` section, as nova-hwabi-report loads it) and
   ``sync_provider_traits``, the code under test:

   - first sync: every provider gets its traits; the missing custom traits
     are created on the way (once per trait per process);
   - re-sync with nothing changed: goal 1 GET per provider, no write;
   - re-sync after one host in five moved to the next width of the cycle
     (a firmware or QEMU update, say; both additions and removals): goal
     at most 1 GET + 1 PUT + trait creations per changed provider, 1 GET
     for the others.

   Requests are counted on the wire (a wrapped keystoneauth adapter) and
   checked against the client's own counter. Providers are found by UUID
   with ``client.provider()``, one GET each, cached for the process: those
   lookups are counted and printed apart, not in the sync figures. Nova has
   no equivalent of this sync, so absolute figures and a PASS/FAIL per goal
   are printed instead of a ratio.

2. Hosts reaching the host filters, over ``--fleet`` hosts with inventory:
   for emulated requests of 40, 46 and 52 bits, the allocation candidates
   Placement returns for the query Nova 34's own ResourceRequest builds
   (``required=COMPUTE_ADDRESS_SPACE_EMULATED`` alone) and for the same
   request after nova-hwabi's address_space request filter with
   ``require_bits_ladder`` (adds ``CUSTOM_HWABI_MAXPHYSADDR_BITS_<N>``),
   at Nova's microversion and without Nova's limit, so that every
   candidate counts. Each count is checked against the hosts' widths; the
   ratio is Nova 34 alone / with the ladder.

Setup is timed but is not what is measured. Placement on sqlite takes one
write at a time (concurrent writes fail with "database is locked"), so
setup is serial: with the defaults it takes half of the 4 to 5 minutes a
run takes on 2 cores. Exits 1 if a goal or a count check fails.

Run: .venv/bin/python benchmarks/bench_placement.py [--providers N]
     [--fleet N] [--rounds N]
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import logging
import statistics
import sys
import tempfile
import time
import warnings
from importlib import metadata
from pathlib import Path
from urllib.parse import parse_qsl

warnings.simplefilter("ignore")

from nova.conf import CONF as NOVA_CONF  # noqa: E402
from nova.scheduler import utils as scheduler_utils  # noqa: E402
from nova.scheduler.client import report as nova_report  # noqa: E402

from nova_hwabi import conf as hwabi_conf  # noqa: E402
from nova_hwabi import placement  # noqa: E402
from nova_hwabi.capabilities import host_report  # noqa: E402
from nova_hwabi.capabilities.reported_traits import TraitPolicy  # noqa: E402
from nova_hwabi.request_filters.address_space import (  # noqa: E402
    address_space_filter,
)
from nova_hwabi.testing import inprocess, placement_server  # noqa: E402
from nova_hwabi.testing.placement_server import (  # noqa: E402
    EmbeddedPlacement,
    PlacementAdmin,
    PlacementAdminError,
)

SAMPLE = "x86_64-kvm-debian12"
SAMPLE_ELEMENT = b"<maxphysaddr mode='emulate' bits='46'/>"
BITS_CYCLE = (39, 42, 46, 48, 52, None)
REQUEST_BITS = (40, 46, 52)
CHANGE_EVERY = 5  # 1 host in 5 changes width before the last re-sync
SETUP_MICROVERSION = "1.39"
INVENTORY = {"VCPU": 64, "MEMORY_MB": 262144, "DISK_GB": 1024}
# What a compute node's provider carries besides ours: Nova's capability
# and CPU traits and an operator's custom trait. The sync must keep them.
OPERATOR_TRAIT = "CUSTOM_OPERATOR_GOLD"
FOREIGN = frozenset({
    "COMPUTE_NET_ATTACH_INTERFACE", "COMPUTE_VOLUME_EXTEND",
    "COMPUTE_IMAGE_TYPE_QCOW2", "HW_CPU_X86_AVX2", "HW_CPU_X86_AESNI",
    OPERATOR_TRAIT,
})


# --- how requests are counted ---------------------------------------------

def _kind(method: str, url: str) -> str:
    path = url.split("?")[0]
    if path.startswith("/traits/"):
        return "create trait" if method == "PUT" else method + " trait"
    if path.startswith("/resource_providers") and path.endswith("/traits"):
        return method + " traits"
    if path.startswith("/resource_providers") and method == "GET":
        return "lookup"
    return method + " other"


def wire_counts(calls) -> collections.Counter:
    """Requests per kind among RecordingAdapter ``calls``."""
    return collections.Counter(_kind(method, url) for method, url, _ in calls)


def sync_client(endpoint: str, workdir: Path) -> placement.PlacementClient:
    """PlacementClient from a nova.conf, as nova-hwabi-report builds it,
    recording its requests."""
    conf = placement_server.load_hwabi_conf(
        placement_server.write_nova_conf(workdir / "nova.conf", endpoint))
    client = placement.PlacementClient.from_conf(conf)
    placement_server.record_requests(client)
    return client


# --- the fleet ------------------------------------------------------------

@dataclasses.dataclass
class Host:
    """One compute node provider and the width its host reports now."""

    index: int
    uuid: str
    bits: int | None
    inventory: bool
    provider: placement.Provider | None = None


def desired_traits() -> dict[int | None, frozenset[str]]:
    """The traits host_traits reports for each width of the cycle."""
    documents, policy = host_report.read_sample(
        SAMPLE, TraitPolicy(report_bits_ladder=True)
    )
    assert SAMPLE_ELEMENT in documents.capabilities
    by_bits = {}
    for bits in BITS_CYCLE:
        element = (b"" if bits is None else
                   b"<maxphysaddr mode='emulate' bits='%d'/>" % bits)
        variant = dataclasses.replace(
            documents,
            capabilities=documents.capabilities.replace(
                SAMPLE_ELEMENT, element),
        )
        report = host_report.build_report(variant, policy)
        by_bits[bits] = report.traits.traits
    return by_bits


def build_fleet(api: PlacementAdmin, count: int,
                with_inventory: int) -> list:
    """Providers with foreign traits; the first ``with_inventory`` with
    inventory. Serial: sqlite takes one write at a time."""
    hosts = []
    for index in range(count):
        created = api.create_provider(
            "bench-compute-%05d" % index,
            INVENTORY if index < with_inventory else None, FOREIGN)
        hosts.append(Host(index, created["uuid"],
                          BITS_CYCLE[index % len(BITS_CYCLE)],
                          index < with_inventory))
    return hosts


# --- 1. trait sync --------------------------------------------------------

@dataclasses.dataclass
class Phase:
    """One pass of sync_provider_traits over the measured providers."""

    name: str
    results: list
    wire: collections.Counter
    wall: float
    cpu: float
    latencies: list

    @property
    def providers(self) -> int:
        return len(self.results)

    @property
    def requests(self) -> int:
        return sum(result.requests for result in self.results)

    @property
    def created(self) -> int:
        return sum(len(result.created_traits) for result in self.results)


def run_phase(name, client, hosts, by_bits) -> Phase:
    """Sync every host once; time it, count requests per kind."""
    adapter = client.adapter
    before = len(adapter.calls)
    results, latencies = [], []
    cpu_started = time.process_time()
    started = time.perf_counter()
    for host in hosts:
        one = time.perf_counter()
        results.append(placement.sync_provider_traits(
            client, host.provider, by_bits[host.bits]))
        latencies.append(time.perf_counter() - one)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    wire = wire_counts(adapter.calls[before:])
    return Phase(name, results, wire, wall, cpu, latencies)


def lookup(client, hosts) -> tuple[int, float]:
    """client.provider(uuid) for each host: the CLI's path, counted apart."""
    before = client.requests
    started = time.perf_counter()
    for host in hosts:
        host.provider = client.provider(host.uuid)
    return client.requests - before, time.perf_counter() - started


def goal_checks(phases: dict, hosts, by_bits, moved: int) -> list:
    """(goal, passed, detail) for each goal of the issue and the checks
    that the sync wrote the right thing."""
    checks = []
    for key in ("first", "same", "changed"):
        phase = phases[key]
        if key == "same":
            exact = sum(r.requests == 1 and not r.changed
                        for r in phase.results)
            checks.append((
                "%s: exactly 1 GET per provider, nothing written"
                % phase.name,
                exact == phase.providers
                and set(phase.wire) == {"GET traits"},
                "%d of %d; wire: %s" % (exact, phase.providers,
                                        _wire(phase.wire)),
            ))
            continue
        over = [r for r in phase.results
                if r.requests > (2 + len(r.created_traits) if r.changed
                                 else 1)]
        changed = sum(r.changed for r in phase.results)
        checks.append((
            "%s: changed <= 1 GET + 1 PUT + trait creations, others "
            "1 GET" % phase.name,
            not over and phase.wire["GET traits"] == phase.providers
            and phase.wire["PUT traits"] == changed,
            "%d of %d changed, %d over budget; %d GET, %d PUT, %d created"
            % (changed, phase.providers, len(over),
               phase.wire["GET traits"], phase.wire["PUT traits"],
               phase.wire["create trait"]),
        ))
    # The re-sync found nothing to change, so the first sync wrote exactly
    # ours + foreign; and no pass may have lost a foreign trait.
    lost = sum(r.kept_foreign != FOREIGN
               for phase in phases.values() for r in phase.results)
    checks.append((
        "foreign traits (Nova's, an operator's) kept on every provider",
        lost == 0, "%d provider syncs lost one" % lost,
    ))
    results = phases["changed"].results
    wrong = [h for h, r in zip(hosts, results, strict=True)
             if r.added - by_bits[h.bits] or r.removed & by_bits[h.bits]]
    changed = sum(r.changed for r in results)
    conflicts = sum(r.conflicts for p in phases.values() for r in p.results)
    checks.append((
        "the hosts that moved, and only those, changed as host_traits says; "
        "no 409 conflicts",
        not wrong and changed == moved and not conflicts,
        "%d moved, %d changed, %d wrong, %d conflicts" % (
            moved, changed, len(wrong), conflicts),
    ))
    counted = sum(p.requests for p in phases.values())
    on_wire = sum(sum(p.wire.values()) for p in phases.values())
    checks.append((
        "SyncResult.requests = requests on the wire",
        counted == on_wire, "%d counted, %d sent" % (counted, on_wire),
    ))
    return checks


def _wire(counts) -> str:
    return ", ".join("%d %s" % (n, kind) for kind, n in sorted(
        counts.items())) or "nothing"


def print_sync(phases, checks, lookups, lookup_time, trait_count) -> None:
    providers = next(iter(phases.values())).providers
    print()
    print("1. Trait sync of %d providers (PlacementClient + "
          "sync_provider_traits; Nova has no equivalent)" % providers)
    print("   provider lookups, client.provider(uuid): %d GETs "
          "(%.2f/provider, %.1f s),\n   once per provider per process "
          "(cached); not counted below" % (
              lookups, lookups / providers, lookup_time))
    print()
    print("   %-24s %8s %6s %6s %7s %7s %8s %7s %7s %7s" % (
        "pass", "req/prov", "GET", "PUT", "created", "wall s", "prov/s",
        "med ms", "p95 ms", "cpu ms"))
    for phase in phases.values():
        p95 = statistics.quantiles(phase.latencies, n=20)[-1]
        print("   %-24s %8.3f %6d %6d %7d %7.1f %8.1f %7.1f %7.1f %7.2f" % (
            phase.name, phase.requests / phase.providers,
            phase.wire["GET traits"], phase.wire["PUT traits"],
            phase.wire["create trait"], phase.wall,
            phase.providers / phase.wall,
            statistics.median(phase.latencies) * 1e3, p95 * 1e3,
            phase.cpu / phase.providers * 1e3,
        ))
    print("   req/prov = requests per provider sync: GET and PUT "
          "/resource_providers/<uuid>/traits")
    print("   and PUT /traits/<name> (created: once per custom trait per "
          "process, %d of ours here);" % trait_count)
    print("   med/p95 ms = one provider's sync; cpu ms = this process's "
          "CPU per provider (client side)")
    print()
    for goal, passed, detail in checks:
        print("   %s  %s (%s)" % ("PASS" if passed else "FAIL", goal, detail))


# --- 2. hosts reaching the host filters -----------------------------------

def nova_queries(bits: int) -> dict[str, str]:
    """The allocation-candidates queries for an emulated request.

    Built by Nova 34's ResourceRequest from a RequestSpec, once as Nova
    alone, once after nova-hwabi's address_space request filter with
    require_bits_ladder; Nova's limit removed so every candidate counts.
    """
    extra_specs = {"hw:maxphysaddr_mode": "emulate",
                   "hw:maxphysaddr_bits": str(bits)}
    ours = hwabi_conf.new_config()
    ours([], default_config_files=[])
    ours.set_override("require_bits_ladder", True, group="hwabi_scheduler")
    queries = {}
    for name in ("nova", "ladder"):
        spec = inprocess.request_spec(extra_specs)
        if name == "ladder":
            assert address_space_filter(ours, None, spec)
        request = scheduler_utils.ResourceRequest.from_request_spec(spec)
        request._limit = None  # as Nova does for (anti-)affinity
        queries[name] = request.to_querystring()
    return queries


def candidates(api: PlacementAdmin, query: str) -> tuple[set[str], float, int]:
    """Hosts in the allocation candidates, response time and size."""
    started = time.perf_counter()
    response = api.call("GET", "/allocation_candidates?" + query,
                        microversion=nova_report.SAME_SUBTREE_VERSION)
    data = response.json()
    elapsed = time.perf_counter() - started
    hosts = {uuid for request in data["allocation_requests"]
             for uuid in request["allocations"]}
    return hosts, elapsed, len(response.content)


def run_fleet(api: PlacementAdmin, fleet, rounds: int) -> list:
    """Per request width: counts, times, sizes, and the count checks."""
    rows = []
    for bits in REQUEST_BITS:
        queries = nova_queries(bits)
        expected = {
            "nova": {h.uuid for h in fleet if h.bits is not None},
            "ladder": {h.uuid for h in fleet
                       if h.bits is not None and h.bits >= bits},
        }
        row = {"bits": bits, "queries": queries}
        for name, query in queries.items():
            times = []
            for _ in range(rounds):
                found, elapsed, size = candidates(api, query)
                times.append(elapsed)
            row[name] = (len(found), statistics.median(times), size,
                         found == expected[name], len(expected[name]))
        rows.append(row)
    return rows


def print_fleet(rows, fleet, rounds: int) -> list:
    counts = collections.Counter(h.bits for h in fleet)
    print()
    print("2. Hosts reaching the host filters: %d providers with "
          "inventory %s" % (len(fleet), ", ".join(
              "%s %s" % (k, v) for k, v in INVENTORY.items())))
    print("   widths: %s" % ", ".join(
        "%d x %s" % (counts[b], "%d bits" % b if b else "no maxphysaddr")
        for b in BITS_CYCLE))
    print("   query (Nova's ResourceRequest, microversion %s, no limit), "
          "e.g. %d bits:" % (nova_report.SAME_SUBTREE_VERSION,
                             rows[0]["bits"]))
    for name, label in (("nova", "Nova 34 alone"),
                        ("ladder", "with the bits ladder")):
        print("     %-21s %s" % (label + ":", _readable(
            rows[0]["queries"][name])))
    print()
    print("   %-16s %15s %15s %7s   %9s %9s %9s %9s" % (
        "request", "Nova 34 alone", "with ladder", "ratio", "Nova ms",
        "ladder ms", "Nova KB", "ladder KB"))
    failures = []
    for row in rows:
        nova, ladder = row["nova"], row["ladder"]
        print("   %-16s %15d %15d %6.2fx   %9.1f %9.1f %9.1f %9.1f" % (
            "emulate %d bits" % row["bits"], nova[0], ladder[0],
            nova[0] / ladder[0] if ladder[0] else float("inf"),
            nova[1] * 1e3, ladder[1] * 1e3, nova[2] / 1024,
            ladder[2] / 1024,
        ))
        for name, result in (("Nova 34 alone", nova),
                             ("with ladder", ladder)):
            if not result[3]:
                failures.append("emulate %d bits, %s: %d hosts, expected "
                                "%d" % (row["bits"], name, result[0],
                                        result[4]))
    print("   hosts = allocation candidates = hosts the host filters get;")
    print("   ratio = Nova 34 alone / with ladder (higher: fewer hosts to "
          "filter); ms = median of %d rounds;" % rounds)
    print("   KB = response size. Nova itself sends limit=%d ([scheduler] "
          "max_placement_results)." % (
              NOVA_CONF.scheduler.max_placement_results))
    print("   Hosts without maxphysaddr lack EMULATED because nova-hwabi "
          "decides it; Nova 34's driver")
    print("   reports it from the libvirt version alone, which would add "
          "them to 'Nova 34 alone'.")
    print()
    for failure in failures:
        print("   FAIL  %s" % failure)
    if not failures:
        print("   PASS  every count equals the hosts whose widths qualify "
              "(any width / at least N bits)")
    return failures


def _readable(query: str) -> str:
    return "&".join("%s=%s" % pair for pair in parse_qsl(query))


# --- main -----------------------------------------------------------------

def main() -> int:
    """Set up, measure, print; 1 if a goal or check failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--providers", type=int, default=1000,
                        help="providers synced and re-synced (1000)")
    parser.add_argument("--fleet", type=int, default=1000,
                        help="providers with inventory for allocation "
                        "candidates (1000); the same providers as the "
                        "synced ones, as far as both counts go")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds per allocation-candidates query (3)")
    args = parser.parse_args()
    if args.providers < 6 or args.fleet < 6:
        parser.error("--providers and --fleet need at least 6 (one cycle)")
    logging.disable(logging.INFO)
    NOVA_CONF([], project="nova", default_config_files=[])
    by_bits = desired_traits()
    ours = {t for traits in by_bits.values() for t in traits
            if t.startswith("CUSTOM_")}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-placement-") as tmp, \
            EmbeddedPlacement() as service:
        print("Placement: openstack-placement %s (Nova %s) at %s, sqlite, "
              "noauth2; up in %.1f s" % (
                  metadata.version("openstack-placement"),
                  metadata.version("nova"), service.endpoint,
                  time.perf_counter() - started))
        try:
            return measure(args, service, Path(tmp), by_bits, ours)
        except (placement.PlacementError, PlacementAdminError) as exc:
            print("failed: %s" % exc)
            lines = service.log_path.read_text(errors="replace").splitlines()
            print("Placement's last lines:\n  " + "\n  ".join(lines[-20:]))
            return 1


def measure(args, service, workdir: Path, by_bits, ours) -> int:
    api = PlacementAdmin(service, SETUP_MICROVERSION)
    count = max(args.providers, args.fleet)
    started = time.perf_counter()
    hosts = build_fleet(api, count, args.fleet)
    print("setup: %d providers (%d with inventory), each with %d foreign "
          "traits, in %.1f s (not measured)" % (
              count, args.fleet, len(FOREIGN),
              time.perf_counter() - started))
    print("desired traits: host_traits() of sample %s (libvirt 9.0.0),\n"
          "  TraitPolicy(report_bits_ladder=True), <maxphysaddr bits> "
          "cycling %s:\n  %s traits per host" % (
              SAMPLE, "/".join(str(b or "none") for b in BITS_CYCLE),
              "/".join(str(len(by_bits[b])) for b in BITS_CYCLE)))

    client = sync_client(service.endpoint, workdir)
    measured = hosts[:args.providers]
    lookups, lookup_time = lookup(client, measured)
    phases = {"first": run_phase("first sync", client, measured, by_bits)}
    phases["same"] = run_phase("re-sync, unchanged", client, measured,
                               by_bits)
    moved = measured[::CHANGE_EVERY]
    for host in moved:
        position = BITS_CYCLE.index(host.bits)
        host.bits = BITS_CYCLE[(position + 1) % len(BITS_CYCLE)]
    phases["changed"] = run_phase(
        "re-sync, 1 in %d changed" % CHANGE_EVERY, client, measured, by_bits)
    checks = goal_checks(phases, measured, by_bits, len(moved))

    # Fleet hosts beyond the measured ones still need their traits.
    rest = [h for h in hosts[args.providers:] if h.inventory]
    if rest:
        other = sync_client(service.endpoint, workdir)
        lookup(other, rest)
        run_phase("fleet", other, rest, by_bits)
    fleet = [h for h in hosts if h.inventory]
    rows = run_fleet(api, fleet, args.rounds)

    print_sync(phases, checks, lookups, lookup_time, len(ours))
    failures = print_fleet(rows, fleet, args.rounds)
    failed = failures or not all(passed for _, passed, _ in checks)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
