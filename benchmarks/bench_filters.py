"""nova-hwabi's two host filters vs upstream Nova's, on 10,000 HostStates.

Builds real HostStates from ComputeNode records (cpu_info as the JSON
string Nova stores; mixed bits and vendors, one host in ten aarch64) and,
for each of several request mixes (:data:`MIXES`: maxphysaddr widths,
``capabilities:`` extra specs, image architecture and hypervisor type),
times in alternating rounds:

- the two filters' own time (ComputeCapabilitiesFilter then
  ImagePropertiesFilter, as the HostManager chains them), ours vs Nova's;
- HostManager.get_filtered_hosts with Nova's default enabled filters,
  once with nova_hwabi.filters.all_filters added, once without.

Host states are warm (every filter has seen them once). Timing follows
``timeit``: the garbage collector is run before and paused during each
timed call (so a collection of the whole heap, 10,000 HostStates, started
by whichever contender ran before does not land in another's time), and
each contender is called as many times in a row as makes one timed call
last at least 0.2 s (``timeit``'s autorange): on a shared machine a
preemption adds the same few milliseconds to a 5 ms call as to a 500 ms
one, which would otherwise measure the scheduler's time slices, not the
filters. Medians over rounds are printed with their ratio, and the run
fails if ours and upstream's do not pass the same hosts. The goal is a
filters ratio of at least ``--goal`` (20x, issue 10) for every mix: the
last line says whether it was met, and the exit status is 1 when not.

Upstream is the Nova installed beside nova-hwabi, whose version is printed
first; run it in each series' venv to compare with that series' filters.

Run: .venv/bin/python benchmarks/bench_filters.py [--hosts N] [--rounds N]
     [--goal RATIO]
     .venv-nova33/bin/python benchmarks/bench_filters.py (Nova 33; 32 alike)
"""

from __future__ import annotations

import argparse
import gc
import logging
import statistics
import sys
import time
import warnings

warnings.simplefilter("ignore")

import nova.conf  # noqa: E402
from nova.scheduler.filters import (  # noqa: E402
    compute_capabilities_filter,
    image_props_filter,
)

from nova_hwabi import compat  # noqa: E402
from nova_hwabi.filters.compute_capabilities import (  # noqa: E402
    ComputeCapabilitiesFilter,
)
from nova_hwabi.filters.image_properties import (  # noqa: E402
    ImagePropertiesFilter,
)
from nova_hwabi.testing import inprocess  # noqa: E402

CONF = nova.conf.CONF
FEATURES = ["aes", "avx", "avx2", "avx512f", "bmi1", "bmi2", "erms", "f16c",
            "fma", "fsgsbase", "invpcid", "md-clear", "movbe", "pcid",
            "pclmuldq", "pdpe1gb", "popcnt", "rdrand", "rdseed", "sse4.2",
            "ssse3", "tsc-deadline", "vmx", "x2apic", "xsave"]
BITS = (39, 46, 48, 52)
VENDORS = ("Intel", "AMD")


# name, flavor extra specs, image properties. None of them sets image
# bits with an architecture: upstream raises on that (DESIGN.md defect 1).
MIXES = [
    ("bits + vendor + image arch",
     {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "46",
      "capabilities:cpu_info:vendor": "Intel"},
     {"hw_architecture": "x86_64"}),
    ("image arch only", {}, {"hw_architecture": "x86_64"}),
    ("feature <in> + bits + image arch/hv type",
     {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "40",
      "capabilities:cpu_info:features": "<in> avx2"},
     {"hw_architecture": "x86_64", "img_hv_type": "kvm"}),
    ("vendor + image arch aarch64",
     {"capabilities:cpu_info:vendor": "ARM"},
     {"hw_architecture": "aarch64"}),
]


def is_arm(index: int) -> bool:
    """One host in ten is an aarch64 host."""
    return index % 10 == 9


def cpu_info(index: int) -> dict:
    """A realistic libvirt cpu_info; 8 x86 models and 1 Arm one."""
    if is_arm(index):
        return {"arch": "aarch64", "model": "Neoverse-N1", "vendor": "ARM",
                "topology": {"cells": 1, "sockets": 1, "cores": 80,
                             "threads": 1},
                "features": ["aes", "asimd", "crc32", "sha2"]}
    return {
        "arch": "x86_64", "model": "Model-%d" % (index % 8),
        "vendor": VENDORS[index % 2],
        "topology": {"cells": 2, "sockets": 2, "cores": 32, "threads": 2},
        "maxphysaddr": {"mode": "emulate", "bits": BITS[index % 4]},
        "features": FEATURES,
    }


def build_hosts(count: int) -> list:
    """HostStates updated from ComputeNode records, as the scheduler has."""
    return [inprocess.host_state(inprocess.compute_node(
        i, cpu_info(i), arch="aarch64" if is_arm(i) else "x86_64"))
        for i in range(count)]


def chained(filters, hosts, spec) -> list:
    """Run filters one after the other, as Nova's filter handler does."""
    for host_filter in filters:
        hosts = list(host_filter.filter_all(hosts, spec))
    return hosts


def timed(function, *args, number: int = 1) -> tuple[float, object]:
    """Seconds per call of ``function(*args)`` over ``number`` calls."""
    gc.collect()
    gc.disable()
    try:
        started = time.perf_counter()
        for _ in range(number):
            result = function(*args)
        return (time.perf_counter() - started) / number, result
    finally:
        gc.enable()


def calls_for(function, *args, at_least: float = 0.2) -> int:
    """How many calls in a row last ``at_least`` seconds (timeit's way)."""
    number = 1
    while True:
        elapsed, _ = timed(function, *args, number=number)
        if elapsed * number >= at_least:
            return number
        number = max(number * 2, int(at_least / max(elapsed, 1e-6)) + 1)


def configure(with_ours: bool) -> inprocess.DetachedHostManager:
    available = ["nova.scheduler.filters.all_filters"]
    if with_ours:
        available.append("nova_hwabi.filters.all_filters")
    CONF.set_override("available_filters", available,
                      group="filter_scheduler")
    return inprocess.DetachedHostManager()


# Issue 10: the two filters >= 20x faster than Nova's on every mix.
GOAL = 20.0


def main() -> int:
    """Print median times and ratios; 1 if a mix misses the goal."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--goal", type=float, default=GOAL,
                        help="least filters ratio every mix must reach "
                        "(default %(default)sx)")
    args = parser.parse_args()
    logging.disable(logging.INFO)
    CONF([], project="nova", default_config_files=[])
    # Host states are built once; keep their services "up" for the run.
    CONF.set_override("service_down_time", 3600)

    # Upstream is the installed Nova's own filters: run it in each series'
    # venv (scripts/test --nova N sets them up) for that series' ratios.
    print("upstream: %s" % compat.describe_nova())
    started = time.perf_counter()
    hosts = build_hosts(args.hosts)
    print("built %d HostStates in %.1f s" % (
        len(hosts), time.perf_counter() - started))
    ours = (ComputeCapabilitiesFilter(), ImagePropertiesFilter())
    upstream = (compute_capabilities_filter.ComputeCapabilitiesFilter(),
                image_props_filter.ImagePropertiesFilter())
    managers = {"ours": configure(True), "upstream": configure(False)}
    ratios = []
    for name, extra_specs, image in MIXES:
        spec = inprocess.request_spec(extra_specs, image)
        ratios.append(run_mix(name, spec, hosts, ours, upstream, managers,
                              args.rounds))
    missed = [(name, ratio) for (name, _, _), ratio in zip(MIXES, ratios,
                                                             strict=True)
              if ratio < args.goal]
    print("filters = the two filters' own time; manager = "
          "HostManager.get_filtered_hosts with Nova's default "
          "enabled_filters; medians of %d rounds, each timing >= 0.2 s of "
          "calls, GC paused while timed"
          % args.rounds)
    print("filters ratio: min %.1fx, geometric mean %.1fx over %d mixes" % (
        min(ratios), statistics.geometric_mean(ratios), len(ratios)))
    if missed:
        print("goal >= %.0fx on every mix: NOT met (%s)" % (
            args.goal, "; ".join("%s: %.1fx" % miss for miss in missed)))
        return 1
    print("goal >= %.0fx on every mix: met" % args.goal)
    return 0


def run_mix(name, spec, hosts, ours, upstream, managers, rounds) -> float:
    """Time one request mix; print and return the filters' ratio."""
    # Warm-up: every host state seen once by every contender.
    expected = {h.host for h in chained(upstream, hosts, spec)}
    assert {h.host for h in chained(ours, hosts, spec)} == expected, name

    def filtered(manager):
        return list(manager.get_filtered_hosts(hosts, spec))

    calls = {"filters " + contender: calls_for(chained, filters, hosts, spec)
             for contender, filters in (("ours", ours),
                                        ("upstream", upstream))}
    calls.update({"manager " + contender: calls_for(filtered, manager)
                  for contender, manager in managers.items()})
    times = {key: [] for key in calls}
    for _ in range(rounds):
        for contender, filters in (("ours", ours), ("upstream", upstream)):
            key = "filters " + contender
            elapsed, passed = timed(chained, filters, hosts, spec,
                                    number=calls[key])
            assert {h.host for h in passed} == expected, name
            times[key].append(elapsed)
        for contender, manager in managers.items():
            key = "manager " + contender
            elapsed, passed = timed(filtered, manager, number=calls[key])
            assert {h.host for h in passed} == expected, name
            times[key].append(elapsed)

    median = {key: statistics.median(values) for key, values in times.items()}
    print("request %s: %d of %d hosts pass (identical)"
          % (name, len(expected), len(hosts)))
    for kind in ("filters", "manager"):
        print("  %-8s upstream %7.1f ms  ours %6.1f ms  ratio %5.1fx   "
              "(calls per timing: %d / %d)" % (
                  kind, median[kind + " upstream"] * 1e3,
                  median[kind + " ours"] * 1e3,
                  median[kind + " upstream"] / median[kind + " ours"],
                  calls[kind + " upstream"], calls[kind + " ours"]))
    return median["filters upstream"] / median["filters ours"]


if __name__ == "__main__":
    sys.exit(main())
