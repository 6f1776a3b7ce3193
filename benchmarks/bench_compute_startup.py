"""Start-up processing of --instances instances on one host: ours vs Nova 34.

What nova-compute does between loading its instances and initialising
them: ``driver.process_instances_at_startup(context, instances)``. Nova
34's ``LibvirtDriver`` registers its seven image-property defaults there;
nova-hwabi's ``HwabiLibvirtDriver`` also records the versioned pin and the
device buses/models of every running domain (what ``nova-hwabi-manage
machine-type record`` records), merged into Nova's one save per instance.

Set-up, not measured: a nova.conf with sqlite databases created and
mapped as nova-manage does (``nova_hwabi.testing.cells``: ``api_db sync``,
``cell_v2 map_cell0``, ``cell_v2 create_cell`` and ``db sync``), then
``--instances`` instances on host
``bench`` created through Nova's Instance object (flavor in
instance_extra, the image's properties in system metadata, no recorded
defaults: the first start-up after an upgrade). Each contender's first
start-up runs in a fresh child process on its own copy of the database,
against Nova's fake
libvirt connection holding one domain per instance; the child loads the
instances as the compute manager does (``InstanceList.get_by_host`` with
its expected_attrs; not measured) and then times the call and counts the
SQL statements it sends (an SQLAlchemy ``before_cursor_execute``
listener).

Two scenarios: ``first`` (nothing recorded yet) and ``restart`` (the same
call again after our first start-up, the everyday case: both contenders
in one process on the same records, alternately, median of ``--repeats``
runs each). Goal: ours sends no
more statements than Nova's and is no slower (ratios <= 1.0 print as
met). Exits 1 if a goal or a check fails (every instance pinned after our
first start-up; Nova's seven defaults recorded by both).

Run: .venv/bin/python benchmarks/bench_compute_startup.py [--instances N]
     [--repeats N]

The first start-up of Nova's own driver takes about 80 s at 1,000
instances here: Nova's fake connection looks each domain up by a linear
scan, and Nova's registration looks up every instance's domain.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path

from nova_hwabi.testing import cells

NO_EVENTLET = {"OS_NOVA_DISABLE_EVENTLET_PATCHING": "1"}
HOST = "bench"
# The cell whose database every contender gets a copy of.
TEMPLATE = "template"
COMPUTE_CONF = "[DEFAULT]\nhost = %s\n[libvirt]\nvirt_type = kvm\n" % HOST
CONTENDERS = {
    "nova": "Nova 34: LibvirtDriver.process_instances_at_startup",
    "ours": "nova-hwabi: HwabiLibvirtDriver.process_instances_at_startup",
}
SCENARIOS = ("first", "restart")
NOVA_DEFAULTS = ("hw_machine_type", "hw_cdrom_bus", "hw_disk_bus",
                 "hw_input_bus", "hw_pointer_model", "hw_video_model",
                 "hw_vif_model")
DOMAIN = """<domain type='kvm'>
  <name>instance-%(index)08x</name>
  <uuid>%(uuid)s</uuid>
  <memory>524288</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/nova/instances/%(uuid)s/disk'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='bridge'>
      <mac address='fa:16:3e:00:%(mac)s'/>
      <model type='virtio'/>
      <source bridge='br0'/>
    </interface>
    <input type='tablet' bus='usb'/>
    <video><model type='virtio'/></video>
  </devices>
</domain>
"""


# --- set-up (parent) ---------------------------------------------------------

def write_conf(workdir: Path, database: Path) -> Path:
    """nova.conf of nova-compute on HOST with ``database`` as its cell."""
    return cells.write_conf(workdir / ("%s.conf" % database.stem),
                            workdir / "api.db", database, COMPUTE_CONF)


def setup_nova(conf: Path):
    """Set Nova up as nova-compute does; the admin context."""
    warnings.simplefilter("ignore")
    return cells.setup_nova(conf, "bench")


def seed(workdir: Path, count: int) -> None:
    """The databases, then ``count`` instances on HOST in the TEMPLATE
    cell, created through Nova's objects."""
    databases = cells.NovaDatabases(workdir, (TEMPLATE,))
    ctxt = setup_nova(databases.conf)
    databases.create()
    from nova import objects

    node = objects.ComputeNode(
        context=ctxt, host=HOST, hypervisor_hostname=HOST,
        hypervisor_type="QEMU", hypervisor_version=9000000, vcpus=64,
        memory_mb=262144, local_gb=1024, vcpus_used=0, memory_mb_used=0,
        local_gb_used=0, cpu_info="{}",
        uuid=str(uuid.uuid5(uuid.NAMESPACE_DNS, HOST)))
    node.create()
    flavor = objects.Flavor(
        id=1, flavorid="1", name="m1.small", memory_mb=512, vcpus=1,
        root_gb=1, ephemeral_gb=0, swap=0, extra_specs={},
        rxtx_factor=1.0, vcpu_weight=0, disabled=False, is_public=True)
    for index in range(count):
        objects.Instance(
            context=ctxt, uuid=instance_uuid(index), host=HOST, node=HOST,
            compute_id=node.id,
            vm_state="active", power_state=1, project_id="p", user_id="u",
            flavor=flavor, old_flavor=None, new_flavor=None,
            instance_type_id=1, memory_mb=512, vcpus=1, root_gb=1,
            ephemeral_gb=0, root_device_name="/dev/vda",
            image_ref=str(uuid.UUID(int=1)),
            system_metadata={"image_base_image_ref": str(uuid.UUID(int=1)),
                             "image_disk_format": "qcow2",
                             "image_container_format": "bare",
                             "image_min_disk": "1", "image_min_ram": "0",
                             "image_hw_architecture": "x86_64"},
        ).create()


def instance_uuid(index: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_OID, "bench-%d" % index))


# --- one contender (child) -------------------------------------------------

def fake_libvirt(count: int):
    """Nova's fake libvirt with one defined domain per instance."""
    import fixtures
    from nova.tests import fixtures as nova_fixtures
    from nova.tests.fixtures import libvirt as fakelibvirt

    for fixture in (nova_fixtures.LibvirtFixture(),
                    fixtures.MockPatch("nova.virt.libvirt.host.Host."
                                       "get_online_cpus",
                                       return_value=set(range(4)))):
        fixture.setUp()
    connection = fakelibvirt.Connection(
        "qemu:///system", version=9000000,
        hv_version=fakelibvirt.FAKE_QEMU_VERSION,
        host_info=fakelibvirt.HostInfo(), hostname=HOST)
    for index in range(count):
        connection.defineXML(DOMAIN % {
            "index": index, "uuid": instance_uuid(index),
            "mac": "%02x:%02x:%02x" % (index >> 16 & 255, index >> 8 & 255,
                                       index & 255)})
    return connection


def build_driver(mode: str, connection):
    from nova.virt import fake
    from nova.virt.libvirt import driver as libvirt_driver

    if mode == "ours":
        from nova_hwabi.virt.driver import HwabiLibvirtDriver
        cls = HwabiLibvirtDriver
    else:
        cls = libvirt_driver.LibvirtDriver
    driver = cls(fake.FakeVirtAPI(), False)
    driver._host.get_connection = lambda: connection
    return driver


def load_instances(ctxt):
    from nova import objects

    return objects.InstanceList.get_by_host(
        ctxt, HOST, expected_attrs=["info_cache", "metadata",
                                    "system_metadata", "numa_topology",
                                    "flavor"])


class StatementCounter:
    """Counts SQL statements sent by every SQLAlchemy engine."""

    def __init__(self):
        import sqlalchemy as sa

        self.count = 0
        sa.event.listen(sa.engine.Engine, "before_cursor_execute",
                        self._seen)

    def _seen(self, *args, **kwargs):
        self.count += 1


def outcome(ctxt) -> dict:
    """How many instances carry the pin and all of Nova's defaults."""
    after = load_instances(ctxt)
    return {
        "pinned": sum(1 for i in after
                      if i.system_metadata.get("hwabi_machine_type")),
        "nova_defaults": sum(
            1 for i in after
            if all("image_" + p in i.system_metadata for p in NOVA_DEFAULTS)),
    }


def timed(ctxt, driver, counter) -> tuple[float, int]:
    """One start-up call on freshly loaded instances: seconds, statements."""
    instances = load_instances(ctxt)
    counter.count = 0
    start = time.perf_counter()
    driver.process_instances_at_startup(ctxt, instances)
    return time.perf_counter() - start, counter.count


def child(args) -> None:
    """``first``: one contender, once. ``restart``: both, interleaved.

    A restart changes nothing, so both contenders are timed in the same
    process on the same records (after our first start-up), alternately,
    --repeats times each: load on the machine hits both alike.
    """
    ctxt = setup_nova(Path(args.conf))
    import logging

    if not os.environ.get("BENCH_LOG"):
        logging.disable(logging.WARNING)  # a line per instance otherwise
    connection = fake_libvirt(args.instances)
    counter = StatementCounter()
    if args.scenario == "first":
        seconds, statements = timed(ctxt, build_driver(args.mode, connection),
                                    counter)
        report = {args.mode: {"seconds": seconds, "statements": statements,
                              **outcome(ctxt)}}
    else:
        drivers = {mode: build_driver(mode, connection)
                   for mode in CONTENDERS}
        drivers["ours"].process_instances_at_startup(ctxt,
                                                     load_instances(ctxt))
        runs = {mode: [] for mode in CONTENDERS}
        for repeat in range(args.repeats):
            order = list(CONTENDERS)[::1 if repeat % 2 else -1]
            for mode in order:
                runs[mode].append(timed(ctxt, drivers[mode], counter))
        state = outcome(ctxt)
        report = {
            mode: {"seconds": statistics.median(t for t, _ in runs[mode]),
                   "statements": max(n for _, n in runs[mode]), **state}
            for mode in CONTENDERS}
    print(json.dumps(report))
    sys.stdout.flush()
    os._exit(0)  # Nova's libvirt driver keeps non-daemon thread pools


def run_child(args, workdir: Path, template: Path, scenario: str,
              mode: str = "") -> dict:
    database = workdir / ("%s-%s.db" % (mode or "both", scenario))
    shutil.copyfile(template, database)
    conf = write_conf(workdir, database)
    command = [sys.executable, __file__, "--child", "--conf", str(conf),
               "--scenario", scenario, "--instances", str(args.instances),
               "--repeats", str(args.repeats)]
    if mode:
        command += ["--mode", mode]
    result = subprocess.run(command, capture_output=True, text=True,
                            timeout=1800, env={**os.environ, **NO_EVENTLET})
    if result.returncode != 0 or not result.stdout.strip():
        raise SystemExit("%s %s failed (%d):\n%s" % (
            scenario, mode, result.returncode, result.stderr[-4000:]))
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- report ----------------------------------------------------------------

def print_results(args, results, seeded_in: float) -> int:
    ok = True
    print("Start-up processing of %d instances on one host (Nova's fake "
          "libvirt, sqlite; seeded in %.1f s, not measured)"
          % (args.instances, seeded_in))
    for mode, label in CONTENDERS.items():
        print("  %-5s %s" % (mode, label))
    print()
    print("%-8s %-5s %10s %11s %8s %14s" % (
        "scenario", "who", "seconds", "statements", "pinned",
        "nova defaults"))
    for scenario in SCENARIOS:
        for mode in CONTENDERS:
            r = results[scenario][mode]
            print("%-8s %-5s %10.3f %11d %8d %14d" % (
                scenario, mode, r["seconds"], r["statements"], r["pinned"],
                r["nova_defaults"]))
    print()
    for scenario in SCENARIOS:
        ours, nova = results[scenario]["ours"], results[scenario]["nova"]
        query_ratio = ("%.2f" % (ours["statements"] / nova["statements"])
                       if nova["statements"] else
                       "%d vs %d" % (ours["statements"], nova["statements"]))
        time_ratio = ours["seconds"] / nova["seconds"]
        queries_met = ours["statements"] <= nova["statements"]
        time_met = time_ratio <= 1.0
        ok &= queries_met and time_met
        print("%-8s statements ours/Nova %s (goal <= 1.0: %s); "
              "time ours/Nova %.2f (goal <= 1.0: %s)" % (
                  scenario, query_ratio, "met" if queries_met else "NOT met",
                  time_ratio, "met" if time_met else "NOT met"))
        if ours["pinned"] != args.instances or \
                ours["nova_defaults"] != args.instances or \
                nova["nova_defaults"] != args.instances:
            print("CHECK FAILED (%s): not every instance recorded" % scenario)
            ok = False
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=7,
                        help="timed runs of the restart scenario (median)")
    parser.add_argument("--child", action="store_true",
                        help=argparse.SUPPRESS)
    parser.add_argument("--seed", action="store_true",
                        help=argparse.SUPPRESS)
    parser.add_argument("--conf", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=tuple(CONTENDERS),
                        help=argparse.SUPPRESS)
    parser.add_argument("--scenario", choices=SCENARIOS,
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.instances < 1 or args.repeats < 1:
        parser.error("--instances and --repeats must be >= 1")
    if args.seed:
        seed(Path(args.workdir), args.instances)
        os._exit(0)
    if args.child:
        child(args)
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        workdir = Path(tmp)
        template = workdir / ("%s.db" % TEMPLATE)
        start = time.perf_counter()
        # Creating and seeding imports Nova: a child, so each contender's
        # starts clean.
        subprocess.run([sys.executable, __file__, "--seed", "--workdir",
                        str(workdir), "--instances", str(args.instances)],
                       check=True, timeout=1800,
                       env={**os.environ, **NO_EVENTLET})
        seeded_in = time.perf_counter() - start
        results = {"first": {}}
        for mode in CONTENDERS:
            results["first"].update(
                run_child(args, workdir, template, "first", mode))
        results["restart"] = run_child(args, workdir, template, "restart")
    return print_results(args, results, seeded_in)


if __name__ == "__main__":
    sys.exit(main())
