"""list-unset over 100,000 instances in two cells, ours vs Nova 34's.

Builds a deployment's databases once per run, in a temporary directory,
as nova-manage does (``nova_hwabi.testing.cells``, shared with the demo and
the admin-command tests): a nova.conf (``transport_url = fake:/``,
sqlite), ``api_db sync``, ``cell_v2 map_cell0``, ``cell_v2 create_cell``
for cell1 and cell2 and ``db sync`` for each cell. A few
QEMU compute nodes per cell are created through Nova's ComputeNode
object; then ``--instances`` instances, split evenly over the two cells,
and their system metadata (about 10 rows each, as Nova writes them at
boot) are bulk-inserted with SQLAlchemy, with the columns Nova needs to
load them as Instance objects. About 10% have no
``image_hw_machine_type`` row (unset); 1% are building and 1% are
soft-deleted; shelved-offloaded ones have no host. Every compute node
is QEMU, so nova-hwabi's exclusion of instances on other hypervisors
(which Nova 34 lists) removes none and both must list the same
instances. Building the databases is timed but is not what is measured;
the cells are filled by a child process too, so that this process stays
small: Linux starts a child's ru_maxrss from its parent's RSS.

Each contender then runs in a fresh subprocess, so that its peak RSS
(``ru_maxrss``) is its own; each child first sets Nova up as nova-manage
does (threading backend, ``parse_args`` with the nova.conf,
``objects.register_all``):

- baseline: the set-up alone, nothing listed;
- ours: ``listings.list_unset(ctxt)``, all cells, filtered in SQL;
- ours, paged: ``listings.list_unset(ctxt, limit=--page, marker=...)``
  resumed with each page's ``next_marker`` until none is left, keeping
  only the UUIDs;
- Nova 34: ``machine_type_utils.get_instances_without_type(ctxt)``, which
  loads every instance of every cell with its system metadata and
  filters in Python;
- transition: ``listings.transition(ctxt, pc-q35-*, pc-q35-8.2,
  dry_run=True)`` in one run, and in runs of ``--page`` instances
  resumed with ``next_marker``: the same keyset paging, over the
  instances with a recorded or pinned type (nothing is written).

Times are medians of ``--repeats`` calls (``--upstream-repeats`` for
Nova's, 1 by default as it is slow at 100,000). Nova's scatter-gather
gives up on a cell after ``nova.context.CELL_TIMEOUT`` (60 s) and
``get_instances_without_type`` then fails with a TypeError; the child
lifts that timeout to ``--timeout`` so the whole call can be measured,
and says when the call took longer than Nova would have waited.

The goals are ours (``list_unset(ctxt)``, what ``nova-hwabi-manage
machine-type list-unset`` runs without ``--limit``) >= 20x faster than
Nova 34, all pages of ``--page`` together <= 1.3x one listing in CPU
time (a keyset per cell on its primary key; for transition too, against
one run; 1.1x-1.2x measured; the wall-time ratio is printed too), with
bounded memory
(peak RSS of every child is printed); the
UUIDs listed by every contender must equal each other and the seeded
unset instances. Exits 1 if the goal or a check fails. The default run
takes about 4 minutes on 2 cores: about 1 to build the databases and
about 2 for Nova 34's call, which peaks near 2 GiB.

Run: .venv/bin/python benchmarks/bench_machine_type.py [--instances N]
     [--repeats N] [--upstream-repeats N] [--page N]
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from importlib import metadata
from pathlib import Path

RECORDED_KEY = "image_hw_machine_type"
PINNED_KEY = "hwabi_machine_type"
GOAL_RATIO = 20.0
# Keyset paging: every page of list-unset --limit together should cost
# about one listing (10 pages of 1,000 cost 7.7x one listing with OFFSET-
# like re-reads, 1.3x-1.8x walking the UUID index; 1.1x-1.2x walking each
# cell's primary key). The margin is for noise on a shared machine.
PAGING_GOAL = 1.3
NOVA_CELL_TIMEOUT = 60  # nova.context.CELL_TIMEOUT
UNSET_FRACTION = 0.10
# (vm_state, weight in %): what a cell of a busy cloud holds.
STATES = (("active", 70), ("stopped", 14), ("shelved_offloaded", 4),
          ("paused", 2), ("suspended", 2), ("error", 3), ("rescued", 1),
          ("resized", 2), ("building", 1), ("deleted", 1))
MACHINE_TYPES = ("pc-q35-7.2", "q35", "pc-i440fx-7.2", "pc")
CHILD_MODES = {
    "baseline": "baseline: imports + Nova config only",
    "ours": "ours: list_unset(ctxt)",
    "paged": "ours: list_unset(limit=%d) pages",
    "upstream": "Nova 34: get_instances_without_type(ctxt)",
    "transition": "ours: transition pc-q35-* --dry-run",
    "transition-paged": "ours: transition --limit %d pages",
}
# What the transition contenders select and plan (nothing is written).
TRANSITION_FROM, TRANSITION_TO = "pc-q35-*", "pc-q35-8.2"
NO_EVENTLET = {"OS_NOVA_DISABLE_EVENTLET_PATCHING": "1"}


# --- the databases --------------------------------------------------------

CELLS = ("cell1", "cell2")


def databases(workdir: Path):
    """The API database, cell0, cell1 and cell2 under ``workdir`` and the
    nova.conf naming them (created by the seed child)."""
    from nova_hwabi.testing.cells import NovaDatabases

    return NovaDatabases(workdir, CELLS)


def setup_nova(conf: Path):
    """Set Nova up as nova-manage does; the admin context."""
    warnings.simplefilter("ignore")
    from nova_hwabi.testing.cells import setup_nova as setup

    return setup(conf, "bench")


def compute_nodes(ctxt, cell, count: int) -> list[tuple[str, int]]:
    """``count`` QEMU compute nodes in the cell: (hostname, id)."""
    from nova import context, objects

    nodes = []
    with context.target_cell(ctxt, cell) as cctxt:
        for index in range(count):
            name = "%s-compute-%03d" % (cell.name, index)
            node = objects.ComputeNode(
                context=cctxt, host=name, hypervisor_hostname=name,
                hypervisor_type="QEMU", hypervisor_version=9000000,
                vcpus=64, memory_mb=262144, local_gb=1024, vcpus_used=0,
                memory_mb_used=0, local_gb_used=0, cpu_info="{}",
                uuid=str(uuid.uuid5(uuid.NAMESPACE_DNS, name)))
            node.create()
            nodes.append((name, node.id))
    return nodes


def instance_rows(rng: random.Random, count: int, nodes, first_id: int):
    """Rows for the instances and instance_system_metadata tables, and
    the UUIDs that should be listed as unset."""
    now = datetime.datetime(2026, 1, 1)
    states = [state for state, _ in STATES]
    weights = [weight for _, weight in STATES]
    instances, metadata_rows, unset = [], [], []
    for offset in range(count):
        row_id = first_id + offset
        instance_uuid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        state = rng.choices(states, weights)[0]
        host, node_id = rng.choice(nodes)
        if state == "shelved_offloaded":
            host = node_id = None
        image = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        instances.append({
            "id": row_id, "uuid": instance_uuid, "created_at": now,
            "updated_at": now, "launched_at": now,
            "deleted": row_id if state == "deleted" else 0,
            "deleted_at": now if state == "deleted" else None,
            "user_id": "user-%d" % (offset % 50),
            "project_id": "project-%d" % (offset % 20),
            "image_ref": image, "hostname": "vm-%d" % row_id,
            "display_name": "vm-%d" % row_id, "launch_index": 0,
            "power_state": 1 if state == "active" else 4,
            "vm_state": state, "task_state": None, "memory_mb": 2048,
            "vcpus": 2, "root_gb": 20, "ephemeral_gb": 0,
            "instance_type_id": 1, "host": host, "node": host,
            "compute_id": node_id, "launched_on": host,
            "availability_zone": "nova", "reservation_id": "r-%08x" % row_id,
            "locked": False, "architecture": "x86_64",
            "root_device_name": "/dev/vda", "config_drive": "",
            "auto_disk_config": False, "progress": 0,
            "shutdown_terminate": False, "disable_terminate": False,
            "cleaned": 0, "hidden": False,
        })
        values = {
            "image_base_image_ref": image, "image_container_format": "bare",
            "image_disk_format": "qcow2", "image_min_disk": "20",
            "image_min_ram": "0", "image_hw_disk_bus": "virtio",
            "owner_user_name": "user-%d" % (offset % 50),
            "owner_project_name": "project-%d" % (offset % 20),
            "boot_roles": "member,reader",
        }
        if rng.random() < UNSET_FRACTION:
            if state not in ("building", "deleted"):
                unset.append(instance_uuid)
        else:
            machine_type = rng.choice(MACHINE_TYPES)
            values[RECORDED_KEY] = machine_type
            if "-" in machine_type:
                values[PINNED_KEY] = machine_type
        metadata_rows.extend({
            "created_at": now, "instance_uuid": instance_uuid, "key": key,
            "value": value, "deleted": 0,
        } for key, value in values.items())
    return instances, metadata_rows, unset


def fill_cells(ctxt, instances: int, hosts: int) -> dict:
    """Compute nodes, instances and system metadata in cell1 and cell2."""
    import sqlalchemy as sa
    from nova import objects
    from nova.db.main import models

    cells = sorted((c for c in objects.CellMappingList.get_all(ctxt)
                    if not c.is_cell0()), key=lambda c: c.name)
    rng = random.Random(20260101)
    summary = {"cells": [], "unset": [], "metadata_rows": 0,
               "states": {}}
    first_id = 1
    for index, cell in enumerate(cells):
        count = instances // len(cells) + (
            1 if index < instances % len(cells) else 0)
        nodes = compute_nodes(ctxt, cell, hosts)
        engine = sa.create_engine(cell.database_connection)
        chunk = 10000
        with engine.begin() as connection:
            for start in range(0, count, chunk):
                size = min(chunk, count - start)
                rows, metadata_rows, unset = instance_rows(
                    rng, size, nodes, first_id)
                first_id += size
                connection.execute(sa.insert(models.Instance.__table__),
                                   rows)
                connection.execute(
                    sa.insert(models.InstanceSystemMetadata.__table__),
                    metadata_rows)
                summary["unset"].extend(unset)
                summary["metadata_rows"] += len(metadata_rows)
                for row in rows:
                    summary["states"][row["vm_state"]] = (
                        summary["states"].get(row["vm_state"], 0) + 1)
        engine.dispose()
        summary["cells"].append((cell.name, cell.uuid, count, len(nodes)))
    return summary


# --- one contender per subprocess -----------------------------------------

def _max_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(args) -> None:
    """Set Nova up, run one contender, print JSON (runs in a subprocess).

    The "seed" child fills the cells instead, so that the parent stays
    small: a child's ru_maxrss starts from its parent's RSS, which Linux
    keeps across exec.
    """
    ctxt = setup_nova(Path(args.conf))
    if args.child == "seed":
        databases(Path(args.conf).parent).create()
        summary = fill_cells(ctxt, args.instances, args.hosts)
        sys.stdout.write(json.dumps(summary))
        sys.stdout.flush()
        os._exit(0)
    if args.child in ("ours", "paged", "transition", "transition-paged"):
        from nova_hwabi.machine_type import listings, names, transition

        pattern = transition.parse_pattern(TRANSITION_FROM)
        target = names.parse_machine_type(TRANSITION_TO)
    elif args.child == "upstream":
        from nova import context as nova_context
        from nova.virt.libvirt import machine_type_utils

        # Nova gives up on a cell after CELL_TIMEOUT (60 s) and then
        # fails; wait for the whole answer instead, to measure it.
        nova_context.CELL_TIMEOUT = args.timeout

    def ours():
        return listings.list_unset(ctxt)

    def paged():
        found, marker = [], None
        while True:
            page = listings.list_unset(ctxt, limit=args.page, marker=marker)
            found.extend(item.uuid for item in page)
            marker = page.next_marker
            if marker is None:
                return found

    def upstream():
        return machine_type_utils.get_instances_without_type(ctxt)

    def transition_all():
        return listings.transition(ctxt, pattern, target, dry_run=True).rows

    def transition_paged():
        rows, marker = [], None
        while True:
            result = listings.transition(ctxt, pattern, target,
                                        limit=args.page, marker=marker,
                                        dry_run=True)
            rows.extend(result.rows)
            marker = result.next_marker
            if marker is None:
                return rows

    run = {"ours": ours, "paged": paged, "upstream": upstream,
           "transition": transition_all,
           "transition-paged": transition_paged}.get(args.child)
    report = {"mode": args.child, "setup_kib": _max_rss_kib(),
              "times": [], "cpu": [], "uuids": None, "error": None}
    try:
        for _ in range(args.repeats if run else 0):
            report["uuids"] = None
            gc.collect()
            started = time.perf_counter()
            cpu_started = time.process_time()
            result = run()
            report["times"].append(time.perf_counter() - started)
            report["cpu"].append(time.process_time() - cpu_started)
            listed = [getattr(item, "uuid", item) for item in result]
            report["uuids"] = sorted(listed)
            if args.child != "upstream":
                # Ours list in one order, paged or not: compared as is.
                report["in_order"] = listed
            del result
    except Exception as exc:  # reported to the parent, which fails
        report["error"] = "%s: %s" % (type(exc).__name__, exc)
    report["peak_kib"] = _max_rss_kib()
    sys.stdout.write(json.dumps(report))
    sys.stdout.flush()
    # Nova's scatter-gather pool must not hold the child up at exit.
    os._exit(0)


def run_child(args, conf: Path, mode: str, repeats: int) -> dict:
    """Run this script as a child in ``mode``; its JSON report."""
    timeout = args.timeout
    command = [sys.executable, str(Path(__file__).resolve()),
               "--child", mode, "--conf", str(conf),
               "--repeats", str(repeats), "--page", str(args.page),
               "--instances", str(args.instances),
               "--hosts", str(args.hosts), "--timeout", str(timeout)]
    started = time.perf_counter()
    try:
        result = subprocess.run(command, capture_output=True, text=True,
                                timeout=timeout,
                                env={**os.environ, **NO_EVENTLET})
    except subprocess.TimeoutExpired:
        return {"mode": mode, "times": [], "cpu": [], "uuids": None,
                "setup_kib": 0,
                "peak_kib": 0, "wall": time.perf_counter() - started,
                "error": "no result within %d s (--timeout)" % timeout}
    try:
        report = json.loads(result.stdout)
    except ValueError:
        report = {"mode": mode, "times": [], "cpu": [], "uuids": None,
                  "setup_kib": 0,
                  "peak_kib": 0,
                  "error": "child exited %d without a report: %s" % (
                      result.returncode, result.stderr[-2000:])}
    report["wall"] = time.perf_counter() - started
    return report


# --- report ---------------------------------------------------------------

def _mib(kib: int) -> float:
    return kib / 1024


def print_results(args, summary, reports, built) -> int:
    """Print the table, the goal and the checks; 1 if any failed."""
    truth = sorted(summary["unset"])
    print()
    print("Databases (nova-manage, sqlite; built in %.1f s, not measured):"
          % built)
    for name, cell_uuid, count, nodes in summary["cells"]:
        print("  %s %s: %d instances, %d QEMU compute nodes" % (
            name, cell_uuid, count, nodes))
    states = summary["states"]
    print("  %d instances, %d system_metadata rows; building %d, "
          "soft-deleted %d, shelved_offloaded (no host) %d" % (
              sum(states.values()), summary["metadata_rows"],
              states.get("building", 0), states.get("deleted", 0),
              states.get("shelved_offloaded", 0)))
    print("  unset (no %s, not building, not deleted): %d" % (
        RECORDED_KEY, len(truth)))
    print()
    baseline = reports["baseline"]
    print("  %-43s %8s %4s %6s %9s %8s %9s %6s" % (
        "contender (each in a fresh process)", "median s", "runs",
        "listed", "setup MiB", "peak MiB", "+baseline", "+setup"))
    for mode, label in CHILD_MODES.items():
        report = reports[mode]
        if "%d" in label:
            label = label % args.page
        times = report["times"]
        print("  %-43s %8s %4d %6s %9.1f %8.1f %9s %6s" % (
            label, "%.3f" % statistics.median(times) if times else "-",
            len(times),
            "-" if report["uuids"] is None else len(report["uuids"]),
            _mib(report["setup_kib"]), _mib(report["peak_kib"]),
            "-" if mode == "baseline" else "%+.1f" % _mib(
                report["peak_kib"] - baseline["peak_kib"]),
            "-" if mode == "baseline" else "%+.1f" % _mib(
                report["peak_kib"] - report["setup_kib"])))
        if len(times) > 1:
            print("  %-43s %s" % ("  each run, s:",
                                  " ".join("%.3f" % t for t in times)))
    print("  setup MiB = ru_maxrss after imports and Nova config, before "
          "the first call (importing")
    print("  machine_type_utils loads Nova's libvirt driver); peak MiB = "
          "ru_maxrss at the end;")
    print("  +baseline = peak minus the baseline child's peak; +setup = "
          "peak minus the child's own setup.")
    print()

    failures = []
    for mode in CHILD_MODES:
        if reports[mode]["error"]:
            failures.append("%s failed: %s" % (mode, reports[mode]["error"]))
    ours, paged, upstream = (reports[m] for m in ("ours", "paged",
                                                  "upstream"))
    if ours["times"] and upstream["times"]:
        ratio = (statistics.median(upstream["times"])
                 / statistics.median(ours["times"]))
        passed = ratio >= GOAL_RATIO
        print("  %s  ours >= %.0fx faster than Nova 34: %.1fx (median %.3f "
              "s vs %.3f s)" % ("PASS" if passed else "FAIL", GOAL_RATIO,
                                ratio, statistics.median(ours["times"]),
                                statistics.median(upstream["times"])))
        if not passed:
            failures.append("ratio %.1fx < %.0fx" % (ratio, GOAL_RATIO))
    else:
        print("  FAIL  ours >= %.0fx faster than Nova 34: no ratio, a "
              "contender failed" % GOAL_RATIO)
        failures.append("no ratio")
    if max(upstream["times"], default=0) > NOVA_CELL_TIMEOUT:
        print("        Nova 34 took over its scatter-gather CELL_TIMEOUT "
              "(%d s), lifted here: as shipped," % NOVA_CELL_TIMEOUT)
        print("        it gets no answer from a cell that is still "
              "loading and fails (TypeError) instead of listing")
    if paged["times"] and upstream["times"] and paged["uuids"] is not None:
        calls = len(paged["uuids"]) // args.page + 1
        print("        paged, all %d calls of limit=%d: %.1fx faster than "
              "Nova 34 (%.3f s per call;" % (
                  calls, args.page, statistics.median(upstream["times"])
                  / statistics.median(paged["times"]),
                  statistics.median(paged["times"]) / calls))
        print("        each cell resumes at its own primary-key position "
              "after the marker)")
    if paged["cpu"] and ours["cpu"]:
        cost = _cpu_ratio(paged, ours)
        passed = cost <= PAGING_GOAL
        print("  %s  all pages of limit=%d cost <= %.2fx one listing: %.2fx "
              "CPU (%.3f s vs %.3f s; wall %.2fx)" % (
                  "PASS" if passed else "FAIL", args.page, PAGING_GOAL,
                  cost, statistics.median(paged["cpu"]),
                  statistics.median(ours["cpu"]),
                  statistics.median(paged["times"])
                  / statistics.median(ours["times"])))
        if not passed:
            failures.append("paging costs %.2fx one listing > %.1fx" % (
                cost, PAGING_GOAL))
    failures.extend(_transition_paging(args, reports))
    grown = {mode: reports[mode]["peak_kib"] - reports[mode]["setup_kib"]
             for mode in ("ours", "paged", "upstream")}
    print("        memory of the call (peak - setup): ours %+.1f MiB, "
          "paged %+.1f MiB, Nova 34 %+.1f MiB" % tuple(
              _mib(grown[m]) for m in grown))
    loaded = sum(states.values()) - states.get("deleted", 0)
    if upstream["uuids"] is not None:
        print("        (Nova 34 loads all %d live instances with their "
              "system metadata: %.1f KiB each)" % (
                  loaded, grown["upstream"] / max(loaded, 1)))

    for mode in ("ours", "paged", "upstream"):
        found = reports[mode]["uuids"]
        if found is None:
            continue
        if found != truth:
            missing = len(set(truth) - set(found))
            extra = len(set(found) - set(truth))
            failures.append("%s: %d listed, %d unset missing, %d extra, "
                            "%d duplicates" % (
                                mode, len(found), missing, extra,
                                len(found) - len(set(found))))
    if ours.get("in_order") != paged.get("in_order"):
        failures.append("paged: the pages together are not the listing, "
                        "in the same order")
    listed = [reports[m]["uuids"] for m in ("ours", "paged", "upstream")]
    identical = listed[0] is not None and all(
        found == listed[0] for found in listed)
    if identical:
        print("  %s  results identical: ours, paged and Nova 34 list the "
              "same %d UUIDs%s" % (
                  "PASS" if listed[0] == truth else "FAIL", len(truth),
                  ", the seeded unset ones" if listed[0] == truth else
                  ", not the seeded unset ones"))
    else:
        print("  FAIL  results identical: they differ, or a contender "
              "failed")
        failures.append("results not identical")
    for failure in failures:
        print("  FAIL  %s" % failure)
    return 1 if failures else 0


def _cpu_ratio(paged: dict, whole: dict) -> float:
    """Median CPU time of ``paged`` over ``whole``'s.

    SQLite runs inside the child, so its CPU time is all the work the
    call does; wall time on a shared machine also counts other
    processes' load (it moved this ratio by +-0.3 between runs)."""
    return statistics.median(paged["cpu"]) / statistics.median(whole["cpu"])


def _transition_paging(args, reports) -> list[str]:
    """Print transition's pages against one run; the failures."""
    whole, paged = reports["transition"], reports["transition-paged"]
    if not (whole["cpu"] and paged["cpu"]):
        return ["transition: no ratio, a contender failed"]
    failures = []
    if whole.get("in_order") != paged.get("in_order"):
        failures.append("transition: pages and one run select different "
                        "instances, or in another order")
    cost = _cpu_ratio(paged, whole)
    passed = cost <= PAGING_GOAL
    print("  %s  transition %s -> %s --dry-run, all pages of limit=%d "
          "cost <= %.2fx one run: %.2fx CPU (%.3f s vs %.3f s; wall %.2fx; "
          "%d instances)"
          % ("PASS" if passed else "FAIL", TRANSITION_FROM, TRANSITION_TO,
             args.page, PAGING_GOAL, cost,
             statistics.median(paged["cpu"]),
             statistics.median(whole["cpu"]),
             statistics.median(paged["times"])
             / statistics.median(whole["times"]),
             len(whole["uuids"] or ())))
    if not passed:
        failures.append("transition paging costs %.2fx one run > %.1fx"
                        % (cost, PAGING_GOAL))
    return failures


# --- main -----------------------------------------------------------------

def main() -> int:
    """Build the databases, run each contender in a child, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=100000,
                        help="instances over both cells (100000)")
    parser.add_argument("--hosts", type=int, default=20,
                        help="QEMU compute nodes per cell (20)")
    parser.add_argument("--repeats", type=int, default=5,
                        help="timed calls of ours, each way (5)")
    parser.add_argument("--upstream-repeats", type=int, default=1,
                        help="timed calls of Nova 34's (1)")
    parser.add_argument("--page", type=int, default=1000,
                        help="--limit of the paged listing (1000)")
    parser.add_argument("--timeout", type=int, default=900,
                        help="seconds allowed per child process (900)")
    parser.add_argument("--child", choices=[*CHILD_MODES, "seed"],
                        help=argparse.SUPPRESS)
    parser.add_argument("--conf", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
    if args.instances < 2 or args.hosts < 1 or args.page < 1:
        parser.error("--instances >= 2, --hosts >= 1 and --page >= 1")

    print("Nova %s, nova-hwabi %s, Python %s, %d CPUs" % (
        metadata.version("nova"), metadata.version("nova-hwabi"),
        sys.version.split()[0], os.cpu_count() or 0))
    with tempfile.TemporaryDirectory(prefix="bench-machine-type-") as tmp:
        started = time.perf_counter()
        conf = databases(Path(tmp)).conf
        summary = run_child(args, conf, "seed", 0)
        if "error" in summary:
            raise SystemExit("creating and filling the cells failed: %s"
                             % summary["error"])
        built = time.perf_counter() - started
        print("databases: created, compute nodes + bulk insert in %.1f s"
              % built)
        reports = {}
        for mode in CHILD_MODES:
            repeats = {"baseline": 0, "upstream": args.upstream_repeats}.get(
                mode, args.repeats)
            reports[mode] = run_child(args, conf, mode, repeats)
            print("  child %-8s done in %.1f s%s" % (
                mode, reports[mode]["wall"],
                " (%s)" % reports[mode]["error"]
                if reports[mode]["error"] else ""))
        return print_results(args, summary, reports, built)


if __name__ == "__main__":
    sys.exit(main())
