"""nova-hwabi's two host filters vs upstream Nova's, on 10,000 HostStates.

Builds real HostStates from ComputeNode records (cpu_info as the JSON
string Nova stores; mixed bits and vendors), one request with an emulated
maxphysaddr width, an ordinary ``capabilities:`` extra spec and an image
architecture, and times in alternating rounds:

- the two filters' own time (ComputeCapabilitiesFilter then
  ImagePropertiesFilter, as the HostManager chains them), ours vs Nova's;
- HostManager.get_filtered_hosts with Nova's default enabled filters,
  once with nova_hwabi.filters.all_filters added, once without.

Host states are warm (every filter has seen them once), medians over
rounds are printed with their ratio, and the run fails if ours and
upstream's do not pass the same hosts.

Upstream is the Nova installed beside nova-hwabi, whose version is printed
first; run it in each series' venv to compare with that series' filters.

Run: .venv/bin/python benchmarks/bench_filters.py [--hosts N] [--rounds N]
     .venv-nova33/bin/python benchmarks/bench_filters.py (Nova 33; 32 alike)
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
import warnings

warnings.simplefilter("ignore")

import nova.conf  # noqa: E402
from nova.scheduler.filters import (  # noqa: E402
    compute_capabilities_filter,
    image_props_filter,
)

from nova_hwabi import compat  # noqa: E402
from nova_hwabi.filters import inprocess  # noqa: E402
from nova_hwabi.filters.compute_capabilities import (  # noqa: E402
    ComputeCapabilitiesFilter,
)
from nova_hwabi.filters.image_properties import (  # noqa: E402
    ImagePropertiesFilter,
)

CONF = nova.conf.CONF
FEATURES = ["aes", "avx", "avx2", "avx512f", "bmi1", "bmi2", "erms", "f16c",
            "fma", "fsgsbase", "invpcid", "md-clear", "movbe", "pcid",
            "pclmuldq", "pdpe1gb", "popcnt", "rdrand", "rdseed", "sse4.2",
            "ssse3", "tsc-deadline", "vmx", "x2apic", "xsave"]
BITS = (39, 46, 48, 52)
VENDORS = ("Intel", "AMD")


def cpu_info(index: int) -> dict:
    """A realistic libvirt cpu_info; 8 models across the fleet."""
    return {
        "arch": "x86_64", "model": "Model-%d" % (index % 8),
        "vendor": VENDORS[index % 2],
        "topology": {"cells": 2, "sockets": 2, "cores": 32, "threads": 2},
        "maxphysaddr": {"mode": "emulate", "bits": BITS[index % 4]},
        "features": FEATURES,
    }


def build_hosts(count: int) -> list:
    """HostStates updated from ComputeNode records, as the scheduler has."""
    return [inprocess.host_state(inprocess.compute_node(i, cpu_info(i)))
            for i in range(count)]


def chained(filters, hosts, spec) -> list:
    """Run filters one after the other, as Nova's filter handler does."""
    for host_filter in filters:
        hosts = list(host_filter.filter_all(hosts, spec))
    return hosts


def timed(function, *args) -> tuple[float, object]:
    started = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - started, result


def configure(with_ours: bool) -> inprocess.DetachedHostManager:
    available = ["nova.scheduler.filters.all_filters"]
    if with_ours:
        available.append("nova_hwabi.filters.all_filters")
    CONF.set_override("available_filters", available,
                      group="filter_scheduler")
    return inprocess.DetachedHostManager()


def main() -> None:
    """Print median times and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=7)
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
    spec = inprocess.request_spec(
        {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "46",
         "capabilities:cpu_info:vendor": "Intel"},
        {"hw_architecture": "x86_64"},
    )
    ours = (ComputeCapabilitiesFilter(), ImagePropertiesFilter())
    upstream = (compute_capabilities_filter.ComputeCapabilitiesFilter(),
                image_props_filter.ImagePropertiesFilter())
    managers = {"ours": configure(True), "upstream": configure(False)}

    # Warm-up: every host state seen once by every contender.
    expected = {h.host for h in chained(upstream, hosts, spec)}
    assert {h.host for h in chained(ours, hosts, spec)} == expected

    times = {key: [] for key in ("filters ours", "filters upstream",
                                 "manager ours", "manager upstream")}
    for _ in range(args.rounds):
        for name, filters in (("ours", ours), ("upstream", upstream)):
            elapsed, passed = timed(chained, filters, hosts, spec)
            assert {h.host for h in passed} == expected
            times["filters " + name].append(elapsed)
        for name, manager in managers.items():
            elapsed, passed = timed(
                lambda m: list(m.get_filtered_hosts(hosts, spec)), manager
            )
            assert {h.host for h in passed} == expected
            times["manager " + name].append(elapsed)

    median = {key: statistics.median(values) for key, values in times.items()}
    print("request: emulate 46 bits + capabilities:cpu_info:vendor=Intel + "
          "image hw_architecture=x86_64; %d of %d hosts pass (identical)"
          % (len(expected), len(hosts)))
    for kind in ("filters", "manager"):
        print("%-8s upstream %8.1f ms   ours %8.1f ms   ratio %6.1fx" % (
            kind, median[kind + " upstream"] * 1e3,
            median[kind + " ours"] * 1e3,
            median[kind + " upstream"] / median[kind + " ours"],
        ))
    print("filters = the two filters' own time; manager = "
          "HostManager.get_filtered_hosts with Nova's default "
          "enabled_filters; medians of %d rounds" % args.rounds)


if __name__ == "__main__":
    main()
