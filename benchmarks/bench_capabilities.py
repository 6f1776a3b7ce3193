"""Parse time of nova-hwabi's capabilities parser vs Nova's, same process.

For every shipped sample host (the largest is the captured multi-arch
document) it times, alternating in rounds, upstream Nova's
``LibvirtConfigCaps().parse_str()`` and ``parse_host_capabilities()``,
takes the median per-parse time of each and prints the ratio. It also
times libxml2 building the tree alone (the first step of both parsers),
which bounds what any lxml-based parser can reach.

Run: .venv/bin/python benchmarks/bench_capabilities.py [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

from lxml import etree

from nova_hwabi.capabilities import parse_host_capabilities
from nova_hwabi.capabilities.samples import load_sample, sample_names

warnings.simplefilter("ignore")
from nova.virt.libvirt import config as nova_config  # noqa: E402


def _per_call(function, document: bytes, loops: int) -> float:
    started = time.perf_counter()
    for _ in range(loops):
        function(document)
    return (time.perf_counter() - started) / loops


def nova_parse(document: bytes) -> None:
    """Upstream Nova's parse of a capabilities document."""
    nova_config.LibvirtConfigCaps().parse_str(document)


def tree_only(document: bytes) -> None:
    """libxml2 building the tree, nothing else."""
    etree.fromstring(document)


def measure(document: bytes, rounds: int) -> dict[str, float]:
    """Median seconds per parse for each contender, alternating rounds."""
    contenders = {
        "nova": nova_parse,
        "ours": parse_host_capabilities,
        "tree": tree_only,
    }
    # Enough loops per round for ~20 ms, so timer noise stays small.
    loops = max(1, int(0.02 / _per_call(nova_parse, document, 3)))
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, function in contenders.items():
            samples[name].append(_per_call(function, document, loops))
    return {name: statistics.median(times) for name, times in samples.items()}


def main() -> None:
    """Print one line per sample and a summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    print("%-32s %7s %9s %9s %9s %7s %9s" % (
        "sample", "bytes", "nova us", "ours us", "tree us", "ratio",
        "ceiling",
    ))
    ratios = []
    for name in sample_names():
        document = load_sample(name).capabilities_xml
        result = measure(document, args.rounds)
        ratio = result["nova"] / result["ours"]
        ratios.append(ratio)
        print("%-32s %7d %9.1f %9.1f %9.1f %6.2fx %8.2fx" % (
            name, len(document), result["nova"] * 1e6,
            result["ours"] * 1e6, result["tree"] * 1e6, ratio,
            result["nova"] / result["tree"],
        ))
    print()
    print("ratio = Nova's time / ours (higher is better); ceiling = Nova's "
          "time / libxml2 tree build alone")
    print("geometric mean ratio: %.2fx over %d documents" % (
        statistics.geometric_mean(ratios), len(ratios),
    ))


if __name__ == "__main__":
    main()
