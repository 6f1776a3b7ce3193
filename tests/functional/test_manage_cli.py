"""nova-hwabi-manage and nova-hwabi-status as operators run them.

Each command runs as a subprocess (``python -m nova_hwabi.cmd.manage
--config-file nova.conf ...``) against sqlite databases that Nova's own
``nova-manage`` commands created: an API database, cell0 and two cells,
created and mapped with ``api_db sync``, ``db sync``, ``cell_v2 map_cell0``
and ``cell_v2 create_cell`` (``nova_hwabi.testing.cells``, which the demo
uses too), then seeded with instances, compute nodes (QEMU
and ironic) and RequestSpecs through Nova's objects by this module run as
a script. What is proven:

* every command's documented exit codes (``get`` 0/2/3, ``update``
  0/2/3/4/5, ``list-unset`` 0/2/3, ``image-property show``/``list``
  0/2/3, ``set`` 0/2/3/4/5/6, ``unset`` 0/3/5, 1 for an unexpected error);
* ``--format json`` output parses and says what the databases (read back
  with sqlite3, not through the code under test) now hold, including the
  RequestSpec image;
* refusals are one line on stderr, never a traceback;
* ``list-unset`` walks the cells one after the other, each in creation
  order; ``--limit`` pages say the next ``--marker`` (table hint, JSON
  ``next_marker``), pages together are the listing; ``--cell-uuid``
  restricts to one cell; a bad ``--marker`` is a usage error (2), for
  ``transition`` too;
* ``update`` and ``transition`` refuse a type no compute host of the
  instance's architecture offers per a real Placement (``--force``
  warns), and note, one line, when Placement was not asked;
* ``nova-hwabi-status upgrade check`` warns (1) while libvirt instances
  have no recorded machine type, succeeds (0) once all are recorded (the
  ironic and the building instance never count), fails (2) on a malformed
  ``[libvirt] hw_machine_type``;
* a cell mapping whose database cannot be read (a driver that is not
  installed, a database without Nova's tables): ``get`` is one line
  naming the cell and exits 78, ``list-unset`` and ``transition`` list
  the other cells and name each unreadable one (78), and ``upgrade check
  --json`` stays JSON, failing (2) the checks that read cells.

Subprocesses cost seconds each (Nova's imports), so the databases are
built once per module and the independent commands run concurrently, each
on instances no other command of the batch changes.
"""

import concurrent.futures
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from nova_hwabi.testing.cells import NovaDatabases, setup_nova, write_conf
from nova_hwabi.testing.placement_server import write_nova_conf

PYTHON = sys.executable
CELLS = ("cell1", "cell2")
ERROR_PREFIX = "nova-hwabi-manage: error: "
NOTE_PREFIX = "nova-hwabi-manage: note: "


def _uuid(number: int) -> str:
    return "00000000-0000-4000-8000-%012d" % number


# Compute nodes per cell: (name, hypervisor_type).
NODES = {
    "cell1": (("qemu1", "QEMU"), ("ironic1", "ironic")),
    "cell2": (("qemu2", "QEMU"),),
}

# number: (cell, vm_state, node, recorded machine type, image properties)
STOPPED_1, STOPPED_2, OFFLOADED_1, ACTIVE_2, ACTIVE_1 = 10, 12, 14, 16, 18
IRONIC, BUILDING, IN_CELL0 = 60, 61, 62
ALIAS, PINNED, ACTIVE, TO_FORCE, TO_SET, TO_UNSET, TO_SHOW = (
    30, 31, 32, 33, 34, 35, 36)
INSTANCES = {
    # No machine type recorded, on libvirt nodes or none.
    STOPPED_1: ("cell1", "stopped", "qemu1", None, {}),
    STOPPED_2: ("cell2", "stopped", "qemu2", None, {}),
    OFFLOADED_1: ("cell1", "shelved_offloaded", None, None, {}),
    ACTIVE_2: ("cell2", "active", "qemu2", None, {}),
    ACTIVE_1: ("cell1", "active", "qemu1", None, {}),
    # No machine type either, but none to record.
    IRONIC: ("cell1", "active", "ironic1", None, {}),
    BUILDING: ("cell2", "building", None, None, {}),
    IN_CELL0: ("cell0", "error", None, None, {}),
    # Recorded.
    ALIAS: ("cell1", "stopped", "qemu1", "q35", {}),
    PINNED: ("cell2", "stopped", "qemu2", "pc-q35-7.2", {}),
    ACTIVE: ("cell1", "active", "qemu1", "pc-q35-7.2", {}),
    TO_FORCE: ("cell1", "stopped", "qemu1", "pc-q35-7.2", {}),
    TO_SET: ("cell1", "shelved", "qemu1", "pc-q35-7.2", {}),
    TO_UNSET: ("cell2", "stopped", "qemu2", "pc-i440fx-7.2",
               {"hw_disk_bus": "ide"}),
    TO_SHOW: ("cell1", "shelved_offloaded", None, "pc-i440fx-7.2",
              {"hw_disk_bus": "ide", "hw_vif_model": "e1000"}),
}
UNSET = [STOPPED_1, STOPPED_2, OFFLOADED_1, ACTIVE_2, ACTIVE_1]
UNSET_UUIDS = [_uuid(n) for n in UNSET]
UNMAPPED, UNKNOWN = 50, 99
NO_SUCH_CELL = "11111111-2222-4333-8444-555555555555"


# -- the seeding script: this module run by the fixture's subprocess ------


def seed(conf_path: str) -> None:
    """Create the databases, then the instances above with Nova's objects;
    print cell UUIDs."""
    # Nova picks its concurrency backend before its other modules load.
    from nova_hwabi import compat

    compat.use_native_threading()
    from nova import context, objects

    databases = NovaDatabases(Path(conf_path).parent, CELLS)
    ctxt = setup_nova(databases.conf, "seed")
    databases.create()
    cells = {cell.name: cell for cell in
             objects.CellMappingList.get_all(ctxt)}
    node_ids = {}
    for cell_name, nodes in NODES.items():
        with context.target_cell(ctxt, cells[cell_name]) as cctxt:
            for index, (name, hypervisor_type) in enumerate(nodes):
                node = objects.ComputeNode(
                    context=cctxt, host=name, hypervisor_hostname=name,
                    hypervisor_type=hypervisor_type, hypervisor_version=1,
                    vcpus=4, memory_mb=4096, local_gb=40, vcpus_used=0,
                    memory_mb_used=0, local_gb_used=0, cpu_info="{}",
                    uuid="aaaaaaaa-0000-4000-8000-%s%011d"
                    % (cell_name[-1], index),
                )
                node.create()
                node_ids[name] = node.id
    for number, (cell_name, state, node, machine_type,
                 properties) in INSTANCES.items():
        metadata = {"image_" + key: value
                    for key, value in properties.items()}
        if machine_type:
            metadata["image_hw_machine_type"] = machine_type
            if "-" in machine_type:
                metadata["hwabi_machine_type"] = machine_type
        cell = cells[cell_name]
        with context.target_cell(ctxt, cell) as cctxt:
            objects.Instance(
                context=cctxt, uuid=_uuid(number), vm_state=state,
                host=node, node=node, compute_id=node_ids.get(node),
                project_id="p", user_id="u", system_metadata=metadata,
            ).create()
        objects.InstanceMapping(
            context=ctxt, instance_uuid=_uuid(number), cell_mapping=cell,
            project_id="p",
        ).create()
        if cell_name == "cell0":
            continue
        objects.RequestSpec(
            context=ctxt, instance_uuid=_uuid(number),
            flavor=objects.Flavor(
                id=1, flavorid="1", name="f", memory_mb=512, vcpus=1,
                root_gb=1, ephemeral_gb=0, swap=0, extra_specs={},
            ),
            image=objects.ImageMeta.from_dict(
                {"properties": dict(properties)}),
            project_id="p", user_id="u", num_instances=1,
            instance_group=None,
            pci_requests=objects.InstancePCIRequests(requests=[]),
        ).create()
    objects.InstanceMapping(
        context=ctxt, instance_uuid=_uuid(UNMAPPED), cell_mapping=None,
        project_id="p",
    ).create()
    print(json.dumps({name: cell.uuid for name, cell in cells.items()}))


# -- running things --------------------------------------------------------


def _run(argv, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True,
                          timeout=timeout, check=False)


def _checked(argv) -> str:
    result = _run(argv)
    assert result.returncode == 0, (
        "%s failed (%d):\n%s\n%s" % (" ".join(argv), result.returncode,
                                     result.stdout, result.stderr))
    return result.stdout


def _one_after_another(commands: dict) -> dict:
    return {name: _run(argv) for name, argv in commands.items()}


def _in_parallel(commands: dict, workers: int = 3,
                 writers: tuple = ()) -> dict:
    """{name: argv} -> {name: CompletedProcess}, run concurrently, except
    the ``writers``, which run one after another in one lane.

    Why the lane: every writing transaction (oslo.db emits a deferred
    BEGIN, Nova's Instance.save reads before it updates) takes SQLite's
    shared lock first; two of them on one database file deadlock, and
    SQLite answers one with "database is locked" at once, without waiting.
    Nova's production databases retry that as a deadlock; a test database
    file must simply not see two writers at a time.
    """
    lane = {name: commands[name] for name in writers if name in commands}
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        futures = {name: pool.submit(_run, argv)
                   for name, argv in commands.items() if name not in lane}
        lane_results = pool.submit(_one_after_another, lane)
        results = {name: future.result() for name, future in futures.items()}
    results.update(lane_results.result())
    return results


_write_conf = write_conf


class Deployment(NovaDatabases):
    """The databases, the config files and a snapshot to restore."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, CELLS)
        self.cells: dict[str, str] = {}

    def build(self) -> None:
        # Created and seeded in a child process: Nova's configuration is
        # process-wide.
        output = _checked([PYTHON, __file__, "seed", str(self.conf)])
        self.cells = json.loads(output.strip().splitlines()[-1])
        assert set(self.cells) == {"cell0", "cell1", "cell2"}
        self.snapshot()

    # -- reading the databases directly, not through the code under test --

    def metadata(self) -> dict:
        """{instance uuid: {key: value}} of every live cell database."""
        found = {}
        for name in ("cell1", "cell2"):
            with sqlite3.connect(self.db[name]) as db:
                for uuid, key, value in db.execute(
                        "SELECT instance_uuid, key, value FROM "
                        "instance_system_metadata WHERE deleted = 0"):
                    found.setdefault(uuid, {})[key] = value
        return found

    def spec_properties(self) -> dict:
        """{instance uuid: RequestSpec image properties}."""
        found = {}
        with sqlite3.connect(self.db["api"]) as db:
            for uuid, spec in db.execute(
                    "SELECT instance_uuid, spec FROM request_specs"):
                image = json.loads(spec)["nova_object.data"]["image"]
                found[uuid] = (image["nova_object.data"]["properties"]
                               ["nova_object.data"])
        return found

    def record(self, numbers, machine_type: str) -> None:
        """Record a machine type the way nova-compute would, in SQL."""
        for number in numbers:
            cell = INSTANCES[number][0]
            with sqlite3.connect(self.db[cell]) as db:
                db.execute(
                    "INSERT INTO instance_system_metadata (created_at, "
                    "deleted, instance_uuid, key, value) VALUES "
                    "(CURRENT_TIMESTAMP, 0, ?, 'image_hw_machine_type', ?)",
                    (_uuid(number), machine_type))


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    deployment = Deployment(tmp_path_factory.mktemp("nova-dbs"))
    deployment.build()
    return deployment


@pytest.fixture
def fresh(deployment):
    """The deployment as seeded, for tests that run commands in order."""
    deployment.restore()
    return deployment


def manage(deployment, *args, conf=None) -> list[str]:
    return [PYTHON, "-m", "nova_hwabi.cmd.manage", "--config-file",
            str(conf or deployment.conf), *args]


def status(deployment, conf=None) -> list[str]:
    return [PYTHON, "-m", "nova_hwabi.cmd.status", "--config-file",
            str(conf or deployment.conf), "upgrade", "check"]


def _json(result):
    return json.loads(result.stdout)


def assert_one_line_error(result, *needles):
    """stderr is exactly one 'nova-hwabi-manage: error:' line."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(ERROR_PREFIX), result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert "Traceback" not in result.stdout + result.stderr


# -- the batch: independent commands, run once, concurrently ---------------

MT, IP = "machine-type", "image-property"
J = ("--format", "json")
# name: (arguments, documented exit code, text the one-line error names).
BATCH = {
    "get": ((MT, "get", _uuid(PINNED), *J), 0, None),
    "get-unknown": ((MT, "get", _uuid(UNKNOWN)), 2, _uuid(UNKNOWN)),
    "get-unset": ((MT, "get", _uuid(STOPPED_1), *J), 3,
                  "no recorded machine type"),
    "update-pin": ((MT, "update", _uuid(ALIAS), "pc-q35-7.2", *J), 0, None),
    "update-force": ((MT, "update", _uuid(TO_FORCE), "pc-q35-6.2",
                      "--force", *J), 0, None),
    "update-unknown": ((MT, "update", _uuid(UNKNOWN), "q35"), 2,
                       _uuid(UNKNOWN)),
    "update-active": ((MT, "update", _uuid(ACTIVE), "pc-q35-8.0"), 3,
                      "active"),
    "update-active-force": ((MT, "update", _uuid(ACTIVE), "pc-q35-8.0",
                             "--force"), 3, "active"),
    "update-downgrade": ((MT, "update", _uuid(PINNED), "pc-q35-6.2"), 4,
                         "downgrade"),
    # A machine type only other architectures' QEMU has (the instance
    # has no hw_architecture: [hwabi_scheduler] default_guest_arch x86_64).
    "update-other-arch": ((MT, "update", _uuid(PINNED), "raspi3b"), 4,
                          "raspi3b for this x86_64 instance: it is a "
                          "machine of aarch64"),
    # A name in none of QEMU's documented lists for x86_64 that no host
    # reports offering (no [placement] here): a typo, refused before it
    # is pinned (and every correction refused as a family change).
    "update-typo-q53": ((MT, "update", _uuid(STOPPED_1), "q53"), 4,
                        "in none of QEMU's documented machine lists for "
                        "x86_64 and no compute host reports offering it; "
                        "check the spelling"),
    "update-typo-bogus-type": ((MT, "update", _uuid(STOPPED_1),
                                "bogus-type"), 4, "check the spelling"),
    "update-typo-version": ((MT, "update", _uuid(STOPPED_1), "pc-q35-7.22"),
                            4, "in none of QEMU's documented machine lists"),
    "update-typo-recorded": ((MT, "update", _uuid(PINNED), "pc-q35-7.22"),
                             4, "check the spelling"),
    "update-junk": ((MT, "update", _uuid(PINNED), "pc-q35-5x2junk"), 5,
                    "5x2junk"),
    "update-junk-force": ((MT, "update", _uuid(PINNED), "pc-q35-5x2junk",
                           "--force"), 5, "5x2junk"),
    "list-unset": ((MT, "list-unset", *J), 3, None),
    "list-unset-table": ((MT, "list-unset"), 3, None),
    "list-unset-cell2": ((MT, "list-unset", "--cell-uuid", "{cell2}", *J),
                         3, None),
    "list-unset-no-cell": ((MT, "list-unset", "--cell-uuid", NO_SUCH_CELL),
                           2, NO_SUCH_CELL),
    "list-unset-limited": ((MT, "list-unset", "--limit", "2"), 3, None),
    # Numbers past Nova's 32-bit instances.id: usage errors, not an
    # overflow in the database driver (SQLite's own maximum included).
    "limit-huge": ((MT, "list-unset", "--limit",
                    "99999999999999999999999"), 2,
                   "argument --limit: at most 2147483647"),
    "limit-sqlite-max": ((MT, "list-unset", "--limit",
                          "9223372036854775807"), 2,
                         "argument --limit: at most 2147483647"),
    "limit-past-int32": ((MT, "list-unset", "--limit", "2147483648"), 2,
                         "argument --limit: at most 2147483647"),
    "limit-int32": ((MT, "list-unset", "--limit", "2147483647", *J), 3,
                    None),
    "transition-limit-huge": ((MT, "transition", "--from", "pc-q35-*",
                               "--to", "pc-q35-8.2", "--limit",
                               "99999999999999999999999"), 2,
                              "argument --limit: at most 2147483647"),
    "marker-huge-id": ((MT, "list-unset", "--marker",
                        "{cell1}:99999999999999999999999"), 2,
                       "is malformed"),
    "marker-id-past-int32": ((MT, "list-unset", "--marker",
                              "{cell1}:2147483648"), 2, "is malformed"),
    "transition-marker-huge-id": ((MT, "transition", "--from", "pc-q35-*",
                                   "--to", "pc-q35-8.2", "--marker",
                                   "{cell1}:9223372036854775808"), 2,
                                  "is malformed"),
    # UUIDs as Nova stores them whatever the case and dashes given.
    "get-undashed-uuid": ((MT, "get", _uuid(TO_FORCE).replace("-", ""),
                           *J), 0, None),
    "get-upper-uuid": ((MT, "get", _uuid(PINNED).upper(), *J), 0, None),
    "update-upper-uuid": ((MT, "update", _uuid(PINNED).upper(),
                           "pc-q35-6.2"), 4, "downgrade"),
    "show-upper-uuid": ((IP, "show", _uuid(TO_SHOW).upper(),
                         "hw_disk_bus"), 0, None),
    "list-upper-undashed-uuid": ((IP, "list", _uuid(TO_SHOW).replace(
        "-", "").upper(), *J), 0, None),
    "set-upper-uuid-active": ((IP, "set", _uuid(ACTIVE).upper(),
                               "--property", "hw_disk_bus=sata"), 3,
                              "active"),
    "unset-upper-uuid-active": ((IP, "unset", _uuid(ACTIVE).upper(),
                                 "hw_disk_bus"), 3, "active"),
    "list-unset-cell-upper": ((MT, "list-unset", "--cell-uuid",
                               "{cell2_upper}", *J), 3, None),
    "transition-cell-undashed": ((MT, "transition", "--from", "pc-q35-7.*",
                                  "--to", "pc-q35-8.2", "--cell-uuid",
                                  "{cell2_undashed}", "--dry-run", *J), 0,
                                 None),
    # Bad markers: usage errors (2), one line saying what is wrong.
    "marker-not-uuid": ((MT, "list-unset", "--marker", "abc"), 2,
                        "neither an instance UUID nor a marker"),
    "marker-unknown": ((MT, "list-unset", "--marker", _uuid(UNKNOWN)), 2,
                       "no such instance"),
    "marker-in-cell0": ((MT, "list-unset", "--marker", _uuid(IN_CELL0)), 2,
                        "no such instance"),
    "marker-malformed": ((MT, "list-unset", "--marker", "{cell1}:x1"), 2,
                         "is malformed"),
    "marker-other-cell": ((MT, "list-unset", "--cell-uuid", "{cell2}",
                           "--marker", "{cell1}:1"), 2,
                          "does not walk: resume with the same --cell-uuid"),
    "marker-of-other-cell": ((MT, "list-unset", "--cell-uuid", "{cell2}",
                              "--marker", _uuid(STOPPED_1)), 2,
                             "no such instance"),
    "transition-bad-marker": ((MT, "transition", "--from", "pc-q35-*",
                               "--to", "pc-q35-8.2", "--marker", "x:1"), 2,
                              "is malformed"),
    "transition-unknown-marker": ((MT, "transition", "--from", "pc-q35-*",
                                   "--to", "pc-q35-8.2", "--marker",
                                   _uuid(UNKNOWN)), 2, "no such instance"),
    # transition: read-only here (--dry-run or refused before writing);
    # the writing runs are test_transition_* below.
    "transition-dry-run": ((MT, "transition", "--from", "pc-q35-7.*",
                            "--to", "pc-q35-8.2", "--dry-run", *J), 3, None),
    "transition-refused": ((MT, "transition", "--from", "pc-i440fx-*",
                            "--to", "pc-q35-8.2", "--dry-run"), 4, None),
    "transition-none": ((MT, "transition", "--from", "pseries-*", "--to",
                         "pseries-7.2", *J), 0, None),
    "transition-junk-to": ((MT, "transition", "--from", "pc-q35-*", "--to",
                            "pc-q35-5x2junk"), 5, "5x2junk"),
    "transition-bad-range": ((MT, "transition", "--from",
                              "pc-q35-4.2..pc-q35-2.0", "--to",
                              "pc-q35-8.2"), 5, "newer than"),
    "transition-no-cell": ((MT, "transition", "--from", "pc-q35-*", "--to",
                            "pc-q35-8.2", "--cell-uuid", NO_SUCH_CELL), 2,
                           NO_SUCH_CELL),
    # A name in no documented list that no host offers is refused per
    # instance, as update refuses it; a typo must not pass silently when
    # nothing is selected either.
    "transition-unknown-to": ((MT, "transition", "--from", "pseries-*",
                               "--to", "banana", "--dry-run"), 0, None),
    "transition-typo-to": ((MT, "transition", "--from", "pc-q35-7.*",
                            "--to", "pc-q35-7.22", "--dry-run", *J), 4,
                           None),
    # Not UUIDs at all: said so, with where to find the right ones.
    "get-not-a-uuid": ((MT, "get", "not-a-uuid"), 2,
                       "'not-a-uuid' is not an instance UUID"),
    "list-unset-cell-not-a-uuid": ((MT, "list-unset", "--cell-uuid",
                                    "notauuid"), 2,
                                   "'notauuid' is not a cell UUID"),
    "show": ((IP, "show", _uuid(TO_SHOW), "hw_disk_bus"), 0, None),
    "list": ((IP, "list", _uuid(TO_SHOW), *J), 0, None),
    "show-missing": ((IP, "show", _uuid(TO_SHOW), "hw_scsi_model"), 3,
                     "hw_scsi_model"),
    "show-unknown": ((IP, "show", _uuid(UNKNOWN)), 2, _uuid(UNKNOWN)),
    "set": ((IP, "set", _uuid(TO_SET), "--property", "hw_disk_bus=SATA",
             "--property", "hw_vif_model=e1000", *J), 0, None),
    "set-unknown": ((IP, "set", _uuid(UNKNOWN), "--property",
                     "hw_disk_bus=sata"), 2, _uuid(UNKNOWN)),
    "set-active": ((IP, "set", _uuid(ACTIVE), "--property",
                    "hw_disk_bus=sata"), 3, "active"),
    "set-no-equals": ((IP, "set", _uuid(PINNED), "--property",
                       "hw_disk_bus"), 4, "NAME=VALUE"),
    "set-nothing": ((IP, "set", _uuid(PINNED)), 4, "--property"),
    "set-machine-type": ((IP, "set", _uuid(PINNED), "--property",
                          "hw_machine_type=q35"), 5, "machine-type update"),
    # Upstream reports both of these as a bad value (defect 9).
    "set-key-a-b": ((IP, "set", _uuid(PINNED), "--property", "key=a=b"), 5,
                    "'key'"),
    "set-value-a-b": ((IP, "set", _uuid(PINNED), "--property",
                       "hw_disk_bus=a=b"), 6, "'a=b'"),
    "set-ide-on-q35": ((IP, "set", _uuid(PINNED), "--property",
                        "hw_disk_bus=ide"), 6, "pc-q35-7.2"),
    "unset": ((IP, "unset", _uuid(TO_UNSET), "hw_disk_bus", *J), 0, None),
    "unset-machine-type": ((IP, "unset", _uuid(PINNED), "hw_machine_type"),
                           5, "hw_machine_type"),
    "unset-active": ((IP, "unset", _uuid(ACTIVE), "hw_disk_bus"), 3,
                     "active"),
    # unset takes names only: its refusal says "unset", not "set".
    "unset-unknown-property": ((IP, "unset", _uuid(PINNED), "hw_bogus"), 5,
                               "'hw_bogus' cannot be unset on an instance"),
}
# Refused by argparse (an option's type), which prints the usage first.
ARGPARSE_ERRORS = ("limit-huge", "limit-sqlite-max", "limit-past-int32",
                   "transition-limit-huge")
# The commands that write (the others only read, or are refused before
# writing): one at a time, see _in_parallel.
WRITERS = ("update-pin", "update-force", "set", "unset")
# Commands whose success also prints data, and whose exit code 3 is an
# answer rather than an error.
ANSWERS = ("list-unset", "list-unset-table", "list-unset-cell2",
           "list-unset-limited", "transition-dry-run", "transition-refused",
           "limit-int32", "list-unset-cell-upper", "transition-typo-to")


@pytest.fixture(scope="module")
def batch(deployment):
    """Every BATCH command run once on the seeded databases, concurrently,
    plus the databases' state afterwards."""
    deployment.restore()
    cells = dict(deployment.cells)
    cells.update({name + "_upper": uuid.upper()
                  for name, uuid in deployment.cells.items()})
    cells.update({name + "_undashed": uuid.replace("-", "")
                  for name, uuid in deployment.cells.items()})
    commands = {
        name: manage(deployment, *(arg.format(**cells) for arg in args))
        for name, (args, _, _) in BATCH.items()
    }
    # Past the start-up check (it has Nova's cell_mappings table) but
    # without instance_mappings: an error the command did not foresee.
    broken_api = deployment.root / "broken-api.db"
    with sqlite3.connect(broken_api) as connection:
        connection.execute("CREATE TABLE cell_mappings (id INTEGER)")
    commands["broken-database"] = manage(
        deployment, MT, "get", _uuid(PINNED), *J,
        conf=_write_conf(deployment.root / "broken.conf", broken_api,
                         deployment.db["cell1"]))
    commands["status"] = status(deployment)
    commands["status-bad-config"] = status(
        deployment, conf=_write_conf(
            deployment.root / "bad-default.conf", deployment.db["api"],
            deployment.db["cell1"], "[libvirt]\nhw_machine_type = q35\n"))
    results = _in_parallel(commands, writers=WRITERS)
    results["metadata"] = deployment.metadata()
    results["specs"] = deployment.spec_properties()
    return results


def _without_notes(result):
    """``result`` with the note lines left out of stderr."""
    kept = [line for line in result.stderr.splitlines(keepends=True)
            if not line.startswith(NOTE_PREFIX)]
    return subprocess.CompletedProcess(result.args, result.returncode,
                                       result.stdout, "".join(kept))


@pytest.mark.parametrize(("name", "number"), [
    ("get-undashed-uuid", TO_FORCE), ("get-upper-uuid", PINNED)])
def test_uuids_are_read_as_nova_stores_them(batch, name, number):
    assert _json(batch[name])["uuid"] == _uuid(number)


def test_list_of_an_upper_case_uuid_shows_its_properties(batch):
    assert _json(batch["list-upper-undashed-uuid"]) == _json(batch["list"])


def test_cell_uuid_in_upper_case_lists_that_cell(batch, deployment):
    listed = _json(batch["list-unset-cell-upper"])["instances"]
    assert listed and {item["cell"] for item in listed} == {
        deployment.cells["cell2"]}


def test_transition_refuses_a_typo_per_instance(batch):
    rows = _json(batch["transition-typo-to"])["instances"]
    refused = [row for row in rows if row["outcome"] == "refused"]
    assert refused, rows
    for row in refused:
        assert "check the spelling" in row["reason"], row


@pytest.mark.parametrize("typo", ["q53", "bogus-type", "pc-q35-7.22"])
def test_forced_typo_is_recorded_with_a_warning(fresh, typo):
    result = _run(manage(fresh, MT, "update", _uuid(STOPPED_1), typo,
                         "--force", *J))
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines()
                if "WARNING" in line]
    assert len(warnings) == 1 and "check the spelling" in warnings[0], (
        result.stderr)
    assert fresh.metadata()[_uuid(STOPPED_1)][
        "image_hw_machine_type"] == typo


def test_every_writing_batch_command_is_in_the_writers_lane():
    # A successful update, set or unset writes; left out of WRITERS it
    # would race another writer on the SQLite files (see _in_parallel).
    writing = {name for name, (args, code, _) in BATCH.items()
               if code == 0 and args[1] in ("update", "set", "unset")}
    assert writing == set(WRITERS)


@pytest.mark.parametrize("name", list(BATCH))
def test_exit_code_and_error_line(batch, name):
    _, code, needle = BATCH[name]
    result = batch[name]
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    result = _without_notes(result)
    if name == "update-force":
        # --force goes through with a warning, on stderr, saying what the
        # guest will see.
        (line,) = result.stderr.strip().splitlines()
        assert "WARNING" in line and "Forcing instance" in line
    elif name == "transition-unknown-to":
        # The note is said before any instance is read (notes are
        # stripped from ``result`` above).
        assert ("nova-hwabi-manage: note: --to banana is in none of QEMU's "
                "documented machine lists") in batch[name].stderr
        assert result.stderr == ""
    elif code == 0 or name in ANSWERS:
        assert result.stderr == ""
    elif name in ARGPARSE_ERRORS:
        # argparse's usage error: the usage, then one error line; no
        # database error logged.
        assert "ERROR" not in result.stderr, result.stderr
        lines = result.stderr.splitlines()
        assert lines[0].startswith("usage: "), result.stderr
        assert lines[-1].startswith("nova-hwabi-manage machine-type ")
        assert needle in lines[-1], result.stderr
    else:
        assert_one_line_error(result, needle)


@pytest.mark.parametrize("name", ["update-pin", "update-force",
                                  "update-downgrade", "transition-dry-run"])
def test_skipped_host_check_is_one_note(batch, name):
    # No [placement] in this nova.conf: said once, not an error.
    notes = [line for line in batch[name].stderr.splitlines()
             if line.startswith(NOTE_PREFIX)]
    assert len(notes) == 1, batch[name].stderr
    assert "not checked against the machine types compute hosts offer" \
        in notes[0] and "[placement] auth_type is not set" in notes[0]


def test_no_note_when_nothing_was_checked(batch):
    # Nothing selected, or refused before any check: no note.
    for name in ("transition-none", "update-junk", "update-active"):
        assert NOTE_PREFIX not in batch[name].stderr, name


def test_get_json(batch, deployment):
    found = _json(batch["get"])
    assert found == {
        "uuid": _uuid(PINNED), "cell": deployment.cells["cell2"],
        "vm_state": "stopped", "host": "qemu2", "node": "qemu2",
        "recorded": "pc-q35-7.2", "pinned": "pc-q35-7.2",
    }
    # Exit 3 still shows the instance, with nothing recorded.
    unset = _json(batch["get-unset"])
    assert (unset["uuid"], unset["cell"], unset["recorded"]) == (
        _uuid(STOPPED_1), deployment.cells["cell1"], None)


def test_update_writes_record_pin_and_request_spec(batch):
    assert _json(batch["update-pin"]) == {
        "instance": _uuid(ALIAS), "previous": "q35",
        "machine_type": "pc-q35-7.2"}
    metadata = batch["metadata"][_uuid(ALIAS)]
    assert metadata["image_hw_machine_type"] == "pc-q35-7.2"
    assert metadata["hwabi_machine_type"] == "pc-q35-7.2"
    # DESIGN defect 6: a move rebuilds from the RequestSpec image.
    assert batch["specs"][_uuid(ALIAS)]["hw_machine_type"] == "pc-q35-7.2"


def test_forced_downgrade_is_written(batch):
    metadata = batch["metadata"][_uuid(TO_FORCE)]
    assert metadata["image_hw_machine_type"] == "pc-q35-6.2"
    assert metadata["hwabi_machine_type"] == "pc-q35-6.2"
    assert batch["specs"][_uuid(TO_FORCE)]["hw_machine_type"] == (
        "pc-q35-6.2")


def test_forced_update_json_parses(batch):
    assert _json(batch["update-force"]) == {
        "instance": _uuid(TO_FORCE), "previous": "pc-q35-7.2",
        "machine_type": "pc-q35-6.2"}


def test_refusals_write_nothing(batch):
    # Every refused update and set in the batch targeted PINNED or ACTIVE.
    assert batch["metadata"][_uuid(PINNED)] == {
        "image_hw_machine_type": "pc-q35-7.2",
        "hwabi_machine_type": "pc-q35-7.2"}
    assert batch["metadata"][_uuid(ACTIVE)] == {
        "image_hw_machine_type": "pc-q35-7.2",
        "hwabi_machine_type": "pc-q35-7.2"}
    assert batch["specs"][_uuid(PINNED)] == {}
    assert batch["specs"][_uuid(ACTIVE)] == {}


def walk_order(deployment, numbers):
    """``numbers`` as the commands walk them: cells by UUID, each in
    creation order (INSTANCES' order)."""
    created = list(INSTANCES)
    return [_uuid(n) for n in sorted(numbers, key=lambda n: (
        deployment.cells[INSTANCES[n][0]], created.index(n)))]


def test_list_unset_json_and_table(batch, deployment):
    answer = _json(batch["list-unset"])
    assert answer["next_marker"] is None
    listed = answer["instances"]
    assert [item["uuid"] for item in listed] == walk_order(deployment,
                                                           UNSET)
    for item in listed:
        cell, state, node, _, _ = INSTANCES[UNSET[
            UNSET_UUIDS.index(item["uuid"])]]
        assert (item["cell"], item["vm_state"], item["host"],
                item["node"]) == (deployment.cells[cell], state, node, node)
    table = batch["list-unset-table"].stdout.splitlines()
    assert [line.split()[0] for line in table] == walk_order(deployment,
                                                             UNSET)
    stopped_1 = next(line for line in table if line.startswith(
        _uuid(STOPPED_1)))
    assert stopped_1.split()[1:] == [deployment.cells["cell1"], "stopped",
                                     "qemu1"]


def test_list_unset_limit_prints_the_next_marker(batch, deployment):
    lines = batch["list-unset-limited"].stdout.splitlines()
    assert [line.split()[0] for line in lines[:-1]] == walk_order(
        deployment, UNSET)[:2]
    assert lines[-1].startswith("more instances are listed with --marker ")
    marker = lines[-1].split()[-1]
    cell, _, position = marker.partition(":")
    assert cell in deployment.cells.values() and position.isdigit()


def test_list_unset_cell_uuid(batch, deployment):
    listed = _json(batch["list-unset-cell2"])["instances"]
    assert [item["uuid"] for item in listed] == sorted(
        _uuid(n) for n in UNSET if INSTANCES[n][0] == "cell2")
    assert {item["cell"] for item in listed} == {deployment.cells["cell2"]}


def test_image_property_show_and_list(batch):
    assert batch["show"].stdout.split() == ["hw_disk_bus", "ide"]
    expected = {"hw_disk_bus": "ide", "hw_vif_model": "e1000",
                "hw_machine_type": "pc-i440fx-7.2"}
    assert _json(batch["list"]) == expected


def test_image_property_set_normalises_and_mirrors(batch):
    assert _json(batch["set"])["instance"] == _uuid(TO_SET)
    metadata = batch["metadata"][_uuid(TO_SET)]
    assert (metadata["image_hw_disk_bus"],
            metadata["image_hw_vif_model"]) == ("sata", "e1000")
    spec = batch["specs"][_uuid(TO_SET)]
    assert (spec["hw_disk_bus"], spec["hw_vif_model"]) == ("sata", "e1000")


def test_image_property_set_json_shows_what_was_stored(batch):
    assert _json(batch["set"])["changed"] == {
        "hw_disk_bus": {"previous": None, "new": "sata"},
        "hw_vif_model": {"previous": None, "new": "e1000"}}


def test_image_property_unset_removes_from_both(batch):
    assert _json(batch["unset"]) == {
        "instance": _uuid(TO_UNSET),
        "changed": {"hw_disk_bus": {"previous": "ide", "new": None}}}
    assert "image_hw_disk_bus" not in batch["metadata"][_uuid(TO_UNSET)]
    assert "hw_disk_bus" not in batch["specs"][_uuid(TO_UNSET)]


def test_unexpected_error_exits_1_with_a_message(batch):
    result = batch["broken-database"]
    assert result.returncode == 1
    assert result.stderr.startswith(ERROR_PREFIX + "unexpected ")
    assert "instance_mappings" in result.stderr


def test_unexpected_error_is_one_line_without_traceback(batch):
    result = batch["broken-database"]
    assert_one_line_error(result, "unexpected")
    assert result.stdout == ""


def _status_results(result) -> dict:
    """{check name: result word} from oslo.upgradecheck's table."""
    found, name = {}, None
    for line in result.stdout.splitlines():
        text = line.strip("|+- ").strip()
        if text.startswith("Check: "):
            name = text[len("Check: "):]
        elif text.startswith("Result: ") and name:
            found[name] = text[len("Result: "):]
    return found


def test_status_warns_about_unrecorded_instances(batch):
    result = batch["status"]
    assert result.returncode == 1, result.stdout
    assert _status_results(result) == {
        "Recorded machine types": "Warning",
        "[libvirt] hw_machine_type": "Success",
        # No [placement] in this nova.conf: said, not failed.
        "Pinned machine types offered": "Success",
        "Recorded devices offered": "Success",
        "capabilities: operators": "Success"}
    assert "%d instance(s)" % len(UNSET) in result.stdout
    assert "Not checked" in result.stdout


def test_status_fails_on_a_malformed_default(batch):
    result = batch["status-bad-config"]
    assert result.returncode == 2, result.stdout
    assert _status_results(result) == {
        "Recorded machine types": "Warning",
        "[libvirt] hw_machine_type": "Failure",
        "Pinned machine types offered": "Success",
        "Recorded devices offered": "Success",
        "capabilities: operators": "Success"}
    assert "no architecture" in result.stdout


# -- commands that depend on each other, in order ---------------------------


def test_list_unset_pages_across_cells(fresh):
    pages, marker = [], None
    while True:
        args = [MT, "list-unset", "--limit", "2", *J]
        if marker:
            args += ["--marker", marker]
        result = _run(manage(fresh, *args))
        answer = _json(result)
        page = [item["uuid"] for item in answer["instances"]]
        assert result.returncode == 3, result.stderr
        assert 1 <= len(page) <= 2
        pages.append(page)
        marker = answer["next_marker"]
        if marker is None:
            break
        assert len(pages) < 5, pages
    # The pages are the listing cut up: 5 instances in 3 pages, across
    # both cells.
    assert [uuid for page in pages for uuid in page] == walk_order(
        fresh, UNSET)
    assert len(pages) == 3
    # nova-manage's marker, the last UUID listed, resumes there too.
    result = _run(manage(fresh, MT, "list-unset", "--marker", pages[0][-1],
                         *J))
    assert [item["uuid"] for item in _json(result)["instances"]] == [
        uuid for page in pages[1:] for uuid in page]
    # 0 once none is left (nova-manage's).
    last = _run(manage(fresh, MT, "list-unset", "--marker", pages[-1][-1]))
    assert (last.returncode, last.stdout) == (0, "")


@pytest.mark.parametrize("limit", ["-1", "0", "many"])
def test_bad_limit_is_a_usage_error(fresh, limit):
    # A negative LIMIT means "no limit" to SQLite, and list_unset's slice
    # then dropped the last instance: refuse such limits up front.
    result = _run(manage(fresh, MT, "list-unset", "--limit", limit, *J))
    assert result.returncode == 2
    assert "argument --limit: expected a whole number >= 1" in (
        result.stderr
    )
    assert result.stdout == ""


def test_status_succeeds_once_all_are_recorded(fresh):
    # The active and offloaded ones as nova-compute would record them, the
    # last one with the CLI; the ironic and building instances never count.
    others = [n for n in UNSET if n != STOPPED_2]
    fresh.record(others, "q35")
    update = _run(manage(fresh, MT, "update", _uuid(STOPPED_2), "q35"))
    assert update.returncode == 0, update.stderr
    results = _in_parallel({
        "status": status(fresh),
        "list": manage(fresh, MT, "list-unset", *J),
    })
    assert results["status"].returncode == 0, results["status"].stdout
    assert set(_status_results(results["status"]).values()) == {"Success"}
    assert results["list"].returncode == 0
    assert _json(results["list"]) == {"instances": [], "next_marker": None,
                                      "unreadable_cells": []}


def test_transition_dry_run_json_and_refusal_table(batch):
    dry = _json(batch["transition-dry-run"])
    assert dry["dry_run"] is True and dry["to"] == "pc-q35-8.2"
    outcomes = {row["instance"]: row["outcome"] for row in dry["instances"]}
    assert outcomes[_uuid(ACTIVE)] == "needs-stop"
    assert outcomes[_uuid(PINNED)] == "would-update"
    assert dry["next_marker"] is None
    assert batch["specs"][_uuid(PINNED)].get("hw_machine_type") != (
        "pc-q35-8.2")
    refused = batch["transition-refused"].stdout.splitlines()
    assert any(_uuid(TO_UNSET) in line and " refused " in line
               and "i440fx to q35" in line for line in refused), refused
    assert refused[-1].startswith("pc-i440fx-* -> pc-q35-8.2: ")
    assert _json(batch["transition-none"])["instances"] == []


def test_transition_pages_writes_and_resumes(fresh):
    selected = walk_order(fresh, (PINNED, ACTIVE, TO_FORCE, TO_SET))
    rows, marker, codes = [], None, []
    while True:
        args = [MT, "transition", "--from", "pc-q35-7.2", "--to",
                "pc-q35-8.2", "--limit", "2", *J]
        if marker:
            args += ["--marker", marker]
        result = _run(manage(fresh, *args))
        assert "Traceback" not in result.stderr
        page = _json(result)
        codes.append(result.returncode)
        rows.extend(page["instances"])
        marker = page["next_marker"]
        if marker is None:
            break
        assert len(codes) < 5, codes
    assert [row["instance"] for row in rows] == selected
    # 4 selected, 2 a page; the page holding the active instance says a
    # stop is needed (3).
    assert codes == [3 if _uuid(ACTIVE) in selected[:2] else 0,
                     3 if _uuid(ACTIVE) in selected[2:] else 0]
    metadata, specs = fresh.metadata(), fresh.spec_properties()
    for number in (PINNED, TO_FORCE, TO_SET):
        assert metadata[_uuid(number)]["image_hw_machine_type"] == (
            "pc-q35-8.2")
        assert metadata[_uuid(number)]["hwabi_machine_type"] == "pc-q35-8.2"
        assert specs[_uuid(number)]["hw_machine_type"] == "pc-q35-8.2"
    assert metadata[_uuid(ACTIVE)]["image_hw_machine_type"] == "pc-q35-7.2"

    again = _run(manage(fresh, MT, "transition", "--from", "pc-q35-7.2",
                        "--to", "pc-q35-8.2"))
    assert again.returncode == 3, again.stderr
    (row, summary) = again.stdout.splitlines()
    assert row.startswith(_uuid(ACTIVE)) and "needs-stop" in row
    assert summary == "pc-q35-7.2 -> pc-q35-8.2: 1 needs-stop"
    assert fresh.metadata() == metadata


# -- what hosts offer, from a real Placement --

OFFERED, NOT_OFFERED = "pc-q35-9.2", "pc-q35-9.1"


def _provider_with(placement, name, *traits):
    import requests

    headers = {"X-Auth-Token": "admin",
               "OpenStack-API-Version": "placement 1.20"}
    url = placement.endpoint
    created = requests.post(url + "/resource_providers", headers=headers,
                            json={"name": name}, timeout=30).json()
    for trait in traits:
        requests.put(url + "/traits/" + trait, headers=headers, timeout=30)
    response = requests.put(
        url + "/resource_providers/%s/traits" % created["uuid"],
        headers=headers, timeout=30,
        json={"traits": list(traits),
              "resource_provider_generation": created["generation"]})
    assert response.status_code == 200, response.text


def test_update_and_transition_ask_placement(fresh, placement_service):
    from nova_hwabi import traits

    _provider_with(placement_service, "manage-cli-host-%s" % os.getpid(),
                   traits.machine_type_trait("x86_64", OFFERED))
    conf = _write_conf(fresh.root / "with-placement.conf", fresh.db["api"],
                       fresh.db["cell1"],
                       write_nova_conf(fresh.root / "placement.conf",
                                       placement_service.endpoint).read_text())
    results = _in_parallel({
        # No x86_64 host offers it: refused (4), nothing written.
        "refused": manage(fresh, MT, "update", _uuid(PINNED), NOT_OFFERED,
                          conf=conf),
        "offered": manage(fresh, MT, "update", _uuid(TO_FORCE), OFFERED,
                          conf=conf),
        "dry-run": manage(fresh, MT, "transition", "--from", "pc-q35-7.2",
                          "--to", NOT_OFFERED, "--dry-run", *J, conf=conf),
    })
    refused = results["refused"]
    assert refused.returncode == 4, refused.stderr
    assert_one_line_error(refused, NOT_OFFERED, "no compute host reporting "
                          "its x86_64 machine types offers it")
    assert results["offered"].returncode == 0, results["offered"].stderr
    assert results["offered"].stderr == ""
    metadata = fresh.metadata()
    assert metadata[_uuid(PINNED)]["image_hw_machine_type"] == "pc-q35-7.2"
    assert metadata[_uuid(TO_FORCE)]["image_hw_machine_type"] == OFFERED
    dry = _json(results["dry-run"])
    assert results["dry-run"].returncode == 4
    assert {row["outcome"] for row in dry["instances"]} == {"refused"}
    assert all("no compute host reporting" in row["reason"]
               for row in dry["instances"])
    assert results["dry-run"].stderr == ""

    forced = _run(manage(fresh, MT, "update", _uuid(PINNED), NOT_OFFERED,
                         "--force", conf=conf))
    assert forced.returncode == 0, forced.stderr
    assert "no compute host reporting its x86_64" in forced.stderr
    assert NOTE_PREFIX not in forced.stderr
    assert fresh.metadata()[_uuid(PINNED)]["image_hw_machine_type"] == (
        NOT_OFFERED)
    moved = _run(manage(fresh, MT, "transition", "--from", "pc-q35-7.2",
                        "--to", OFFERED, *J, conf=conf))
    outcomes = {row["instance"]: row["outcome"]
                for row in _json(moved)["instances"]}
    assert outcomes == {_uuid(ACTIVE): "needs-stop",
                        _uuid(TO_SET): "updated"}, moved.stderr
    assert moved.returncode == 3


def test_status_json(deployment):
    result = _run([*status(deployment), "--json", "--verbose"])
    checks = {check["check"]: check for check in
              json.loads(result.stdout)["checks"]}
    assert checks["[libvirt] hw_machine_type"]["result"] == 0
    # No [placement] here: the Placement-backed checks say why they could
    # not tell, and do not fail.
    for name in ("Pinned machine types offered", "Recorded devices offered"):
        assert checks[name]["result"] == 0
    assert checks["Pinned machine types offered"]["details"].startswith(
        "Not checked: [placement] auth_type is not set")


# -- a cell whose database cannot be read -----------------------------------

# name: (cell UUID, database_connection): a driver that is not installed,
# and a sqlite file without Nova's tables.
BROKEN_CELLS = {
    "cell-pymysql": ("22222222-0000-4000-8000-000000000001",
                     "mysql+pymysql://nova:secret@192.0.2.1/nova_cell9"),
    "cell-no-tables": ("22222222-0000-4000-8000-000000000002",
                       "sqlite:///{root}/no-tables.db"),
}
BROKEN_REASONS = {"cell-pymysql": "Python database driver pymysql",
                  "cell-no-tables": "no instances table"}
# An instance mapped to each broken cell.
IN_BROKEN = {"cell-pymysql": 70, "cell-no-tables": 71}


@pytest.fixture(scope="module")
def broken_cells(deployment):
    """A config whose API database also maps the two BROKEN_CELLS, each
    with an instance mapped to it; cell1 and cell2 stay as seeded."""
    deployment.restore()
    root = deployment.root
    api = root / "broken-cells-api.db"
    api.write_bytes(Path(deployment.db["api"]).read_bytes())
    with sqlite3.connect(root / "no-tables.db") as connection:
        connection.execute("CREATE TABLE unrelated (id INTEGER)")
    connection.close()
    with sqlite3.connect(api) as connection:
        for name, (uuid, url) in BROKEN_CELLS.items():
            cursor = connection.execute(
                "INSERT INTO cell_mappings (created_at, uuid, name, "
                "transport_url, database_connection, disabled) VALUES "
                "(CURRENT_TIMESTAMP, ?, ?, 'fake:/', ?, 0)",
                (uuid, name, url.format(root=root)))
            connection.execute(
                "INSERT INTO instance_mappings (created_at, instance_uuid, "
                "cell_id, project_id, queued_for_delete) VALUES "
                "(CURRENT_TIMESTAMP, ?, ?, 'p', 0)",
                (_uuid(IN_BROKEN[name]), cursor.lastrowid))
    connection.close()
    return _write_conf(root / "broken-cells.conf", api,
                       deployment.db["cell1"])


def _names_broken_cell(line, name):
    uuid = BROKEN_CELLS[name][0]
    return ("cell %r (%s)" % (name, uuid) in line
            and BROKEN_REASONS[name] in line
            and "nova-manage cell_v2 update_cell --cell_uuid %s" % uuid
            in line and "secret" not in line)


@pytest.mark.parametrize("name", sorted(BROKEN_CELLS))
def test_get_in_an_unreadable_cell_names_it(deployment, broken_cells, name):
    result = _run(manage(deployment, MT, "get", _uuid(IN_BROKEN[name]), *J,
                         conf=broken_cells))
    assert_one_line_error(result)
    assert _names_broken_cell(result.stderr, name), result.stderr
    assert result.returncode == 78
    assert result.stdout == ""


@pytest.mark.parametrize("args", [
    (MT, "list-unset"),
    (MT, "transition", "--from", "pc-q35-*", "--to", "pc-q35-8.0",
     "--dry-run"),
], ids=["list-unset", "transition"])
def test_listing_lists_readable_cells_and_names_the_others(
        deployment, broken_cells, args):
    result = _without_notes(
        _run(manage(deployment, *args, *J, conf=broken_cells)))
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    in_cell_order = sorted(BROKEN_CELLS, key=lambda n: BROKEN_CELLS[n][0])
    for name, line in zip(in_cell_order, lines, strict=True):
        assert line.startswith(ERROR_PREFIX), line
        assert _names_broken_cell(line, name), line
    output = _json(result)
    assert [cell["name"] for cell in output["unreadable_cells"]] == [
        "cell-pymysql", "cell-no-tables"]
    if args[1] == "list-unset":
        # The readable cells are listed all the same.
        assert {item["uuid"] for item in output["instances"]} == set(
            UNSET_UUIDS)
    assert result.returncode == 78


def test_status_json_fails_the_checks_that_read_cells(deployment,
                                                      broken_cells):
    result = _run([*status(deployment, conf=broken_cells), "--json"])
    assert "Traceback" not in result.stdout + result.stderr
    checks = {check["check"]: check for check in
              json.loads(result.stdout)["checks"]}
    for name in ("Recorded machine types", "Pinned machine types offered",
                 "Recorded devices offered"):
        assert checks[name]["result"] == 2, checks[name]
        assert _names_broken_cell(checks[name]["details"], "cell-pymysql")
    assert result.returncode == 2


if __name__ == "__main__":
    if sys.argv[1:2] == ["seed"]:
        seed(sys.argv[2])
    else:
        sys.exit("usage: %s seed NOVA_CONF" % os.path.basename(__file__))
