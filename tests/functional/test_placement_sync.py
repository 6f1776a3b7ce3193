"""Trait sync against a real Placement service (openstack-placement, sqlite).

Against an embedded Placement on 127.0.0.1 (noauth2), through the library
(``sync_provider_traits``) and the ``nova-hwabi-report`` command, this
proves:

- a first sync puts the sample host's address-space traits and bits ladder
  on the provider, creates the custom traits first, writes once, and counts
  every request that went over the wire;
- a second sync, with the same client or a new one, is one GET and no write:
  the provider generation does not move;
- traits that are not ours (an operator's CUSTOM_OPERATOR_GOLD, Nova's
  COMPUTE_STATUS_DISABLED / HW_CPU_X86_AVX2) survive adding and removing
  ours;
- when a host loses capability (52 bits, then 39) the rungs above its width
  go, everything else stays, and with ``is_owned_custom`` the address-space
  traits are left to Nova;
- another writer changing the provider between our GET and PUT makes us
  re-read and converge, counted in ``conflicts``, keeping its trait; one
  that changes it every round ends in PlacementConflictError (exit code 7)
  after three conflicts with nothing of ours written;
- Placement stopping makes the command exit 4 with a one-line error and no
  traceback; once it is back (on a new port) the next run converges;
  ``--interval`` keeps syncing, logs a failed round when Placement is gone,
  recovers when it is back, and exits 0 on SIGTERM;
- refused credentials, missing ``[placement] auth_type`` and an unknown
  provider exit 5, 5 and 6, with nothing written;
- ``--dry-run`` reports the change and writes nothing;
- ``--provider-config`` writes a file Nova's own loader accepts, carrying
  the custom traits, and refuses (exit 2) when there are none.

Providers get unique names so the tests can share one Placement for the
session; the tests that stop Placement use a second one.
"""

import contextlib
import json
import math
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from nova.compute import provider_config as nova_provider_config

from nova_hwabi import placement
from nova_hwabi import traits as hwabi_traits
from nova_hwabi.capabilities import host_report
from nova_hwabi.capabilities.reported_traits import TraitPolicy
from nova_hwabi.capabilities.samples import load_sample
from nova_hwabi.cmd import report as report_cmd
from nova_hwabi.testing import placement_server
from nova_hwabi.testing.placement_server import (
    PlacementAdmin,
    load_hwabi_conf,
    record_requests,
)

BIG = "x86_64-passthrough-52bits"  # emulated + passthrough, 52 bits
MID = "x86_64-kvm-debian12"  # emulated, 46 bits
SMALL = "x86_64-numa4-39bits"  # emulated, 39 bits
NONE = "x86_64-no-maxphysaddr-libvirt8"  # no maxphysaddr: no traits

EMU = hwabi_traits.ADDRESS_SPACE_EMULATED
PT = hwabi_traits.ADDRESS_SPACE_PASSTHROUGH
OPERATOR = "CUSTOM_OPERATOR_GOLD"
OTHER_WRITER = "CUSTOM_OTHER_WRITER"


def ladder(low: int, high: int) -> set[str]:
    """The bits-ladder traits from ``low`` to ``high`` bits inclusive."""
    return {hwabi_traits.bits_trait(n) for n in range(low, high + 1)}


def custom(traits) -> set[str]:
    return {t for t in traits if t.startswith("CUSTOM_")}


# Written out rather than derived, so the sync is checked against what the
# samples are known to offer and not against the code under test.
BIG_TRAITS = {EMU, PT} | ladder(32, 52)
MID_TRAITS = {EMU} | ladder(32, 46)
SMALL_TRAITS = {EMU} | ladder(32, 39)


def create_provider(api: PlacementAdmin, name: str) -> placement.Provider:
    """A provider with no traits, created with the admin client."""
    created = api.create_provider(name)
    return placement.Provider(created["uuid"], created["name"])


def traits_path(provider: placement.Provider) -> str:
    return "/resource_providers/%s/traits" % provider.uuid


def write_nova_conf(path: Path, endpoint: str, placement_opts=None,
                    **hwabi) -> Path:
    """nova.conf for a noauth2 Placement, reporting the bits ladder unless
    ``hwabi`` says otherwise; a None option is left out."""
    return placement_server.write_nova_conf(
        path, endpoint, placement_opts,
        {"hwabi_capabilities": {"report_bits_ladder": "true", **hwabi}})


def sample_traits(name: str, conf) -> frozenset[str]:
    """The traits nova-hwabi reports for sample host ``name`` under conf."""
    documents, policy = host_report.read_sample(
        name, TraitPolicy.from_conf(conf)
    )
    return host_report.build_report(documents, policy).traits.traits


def run_cli(conf_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nova_hwabi.cmd.report",
         "--config-file", str(conf_path), *args],
        capture_output=True, text=True, timeout=120,
    )


def cli_sync(proc: subprocess.CompletedProcess) -> dict:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["sync"]


def assert_one_line_error(proc, exit_code: int, fragment: str) -> None:
    """The command failed with ``exit_code`` and one readable line."""
    assert proc.returncode == exit_code, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("nova-hwabi-report: error: "), lines[0]
    assert fragment in lines[0], lines[0]


@pytest.fixture
def api(placement_service):
    """An independent client: sets up, inspects, plays the other writer,
    so no check goes through the code under test."""
    return PlacementAdmin(placement_service)


@pytest.fixture
def provider(api):
    """A fresh provider with no traits, named uniquely for this test."""
    return create_provider(api, "hwabi-test-%s" % uuid.uuid4().hex)


@pytest.fixture
def conf_file(tmp_path, placement_service):
    """Write tmp_path/nova.conf for the shared Placement; returns a path."""

    def make(placement_opts=None, **hwabi):
        return write_nova_conf(tmp_path / "nova.conf",
                               placement_service.endpoint, placement_opts,
                               **hwabi)

    return make


@pytest.fixture
def own_placement(module_placement):
    """This module's second Placement, for the tests that stop and restart
    it (so the session's stays up), running even if a failed test left it
    down. Shared by those tests because creating its schema is the slow
    part of starting one."""
    if module_placement.process is None:
        module_placement.start()
    return module_placement


# -- First sync and idempotent re-sync ----------------------------------------

@pytest.mark.parametrize("sample, expected", [
    pytest.param(BIG, BIG_TRAITS, id="52bits-passthrough"),
    pytest.param(MID, MID_TRAITS, id="46bits"),
    pytest.param(SMALL, SMALL_TRAITS, id="39bits"),
])
def test_first_sync_sets_traits_and_creates_custom_ones(
        api, provider, conf_file, sample, expected):
    conf = load_hwabi_conf(conf_file())
    desired = sample_traits(sample, conf)
    assert desired == expected
    absent_before = {t for t in custom(desired) if not api.trait_exists(t)}
    client = placement.PlacementClient.from_conf(conf)
    wire = record_requests(client)
    found = client.provider(provider.name)
    assert found == provider
    del wire.calls[:]  # the lookup is not part of the sync

    result = placement.sync_provider_traits(client, found, desired)

    assert api.traits(provider) == (desired, 1)  # one write
    assert (result.added, result.removed) == (desired, frozenset())
    assert result.kept_foreign == frozenset()
    assert result.conflicts == 0 and result.changed
    # Every custom trait is sent once (Placement answers 204 for one that
    # exists); the ones missing before now exist.
    assert result.created_traits == custom(desired)
    assert absent_before <= result.created_traits
    assert all(api.trait_exists(t) for t in custom(desired))
    assert [call[:2] for call in wire.calls] == (
        [("GET", traits_path(provider))]
        + [("PUT", "/traits/%s" % t) for t in sorted(custom(desired))]
        + [("PUT", traits_path(provider))]
    )
    assert result.requests == len(wire.calls) == len(custom(desired)) + 2


@pytest.mark.parametrize("fresh_client", [
    pytest.param(False, id="same-client"),
    # A new process (the CLI run again) knows no traits exist yet.
    pytest.param(True, id="new-client"),
])
def test_resync_is_one_get_and_no_write(api, provider, conf_file,
                                        fresh_client):
    conf = load_hwabi_conf(conf_file())
    desired = sample_traits(BIG, conf)
    client = placement.PlacementClient.from_conf(conf)
    placement.sync_provider_traits(client, provider, desired)
    before = api.traits(provider)
    if fresh_client:
        client = placement.PlacementClient.from_conf(conf)
    wire = record_requests(client)

    result = placement.sync_provider_traits(client, provider, desired)

    assert wire.calls == [("GET", traits_path(provider), 200)]
    assert result.requests == 1
    assert not result.changed and result.created_traits == frozenset()
    assert "already in sync" in result.describe()
    assert api.traits(provider) == before == (desired, 1)


# -- Foreign traits kept, ours removed when a capability goes -----------------

@pytest.mark.parametrize("foreign", [
    pytest.param({OPERATOR}, id="operator"),
    pytest.param({"COMPUTE_STATUS_DISABLED", "HW_CPU_X86_AVX2"},
                 id="nova-standard"),
    pytest.param({OPERATOR, "COMPUTE_STATUS_DISABLED", "HW_CPU_X86_AVX2"},
                 id="both"),
])
def test_foreign_traits_survive_adding_and_removing_ours(
        api, provider, conf_file, foreign):
    api.set_traits(provider, foreign)
    conf = load_hwabi_conf(conf_file())
    client = placement.PlacementClient.from_conf(conf)
    big = sample_traits(BIG, conf)

    added = placement.sync_provider_traits(client, provider, big)
    assert api.traits(provider)[0] == foreign | big
    assert added.added == big and added.kept_foreign == foreign

    # The host no longer reports anything (no maxphysaddr): all of ours go.
    nothing = sample_traits(NONE, conf)
    assert nothing == frozenset()
    removed = placement.sync_provider_traits(client, provider, nothing)
    assert api.traits(provider)[0] == foreign
    assert removed.removed == big and removed.kept_foreign == foreign


@pytest.mark.parametrize("owned, expected_removed", [
    pytest.param(hwabi_traits.is_owned, ladder(40, 52) | {PT},
                 id="is_owned"),
    # Where nova-compute manages the address-space traits, leave them.
    pytest.param(hwabi_traits.is_owned_custom, ladder(40, 52),
                 id="is_owned_custom"),
])
def test_smaller_host_removes_upper_rungs(api, provider, conf_file, owned,
                                          expected_removed):
    api.set_traits(provider, {OPERATOR})
    conf = load_hwabi_conf(conf_file())
    client = placement.PlacementClient.from_conf(conf)
    placement.sync_provider_traits(client, provider, sample_traits(BIG, conf))

    result = placement.sync_provider_traits(
        client, provider, sample_traits(SMALL, conf), owned=owned
    )

    assert result.removed == expected_removed
    assert result.added == frozenset()
    assert api.traits(provider)[0] == (
        ({OPERATOR} | BIG_TRAITS) - expected_removed
    )
    assert OPERATOR in result.kept_foreign


def test_address_space_left_to_nova_is_not_added(api, provider, conf_file):
    conf = conf_file(sync_address_space_traits="false")
    proc = run_cli(conf, "--sample", BIG, "--sync", "--format", "json",
                   "--provider", provider.name)
    cli_sync(proc)
    assert api.traits(provider)[0] == ladder(32, 52)


# -- A concurrent writer (HTTP 409) -------------------------------------------

def interfere(monkeypatch, client, api, rounds):
    """Let another writer change the provider right after our reads.

    After each of our first ``rounds`` GETs the other writer PUTs its
    traits with the generation we just read, so our PUT carries a stale
    generation and Placement answers 409. Each of its writes adds a round
    marker because Placement keeps the generation for a PUT that changes
    nothing, and only a new generation makes ours conflict. Returns the
    trait sets it wrote.
    """
    read = client.provider_traits
    written = []

    def provider_traits(provider):
        current, generation = read(provider)
        if len(written) < rounds:
            theirs = current | {
                OTHER_WRITER, "%s_%d" % (OTHER_WRITER, len(written) + 1),
            }
            api.set_traits(provider, theirs, generation)
            written.append(theirs)
        return current, generation

    monkeypatch.setattr(client, "provider_traits", provider_traits)
    return written


@pytest.mark.parametrize("rounds", [1, 2])
def test_conflicting_writer_is_retried_and_kept(api, provider, conf_file,
                                                monkeypatch, rounds):
    conf = load_hwabi_conf(conf_file())
    desired = sample_traits(BIG, conf)
    client = placement.PlacementClient.from_conf(conf)
    written = interfere(monkeypatch, client, api, rounds)
    wire = record_requests(client)

    result = placement.sync_provider_traits(client, provider, desired)

    theirs = written[-1] - desired
    assert api.traits(provider) == (desired | theirs, rounds + 1)
    assert result.conflicts == rounds
    assert result.added == desired and result.kept_foreign == theirs
    puts = [status for method, url, status in wire.calls
            if (method, url) == ("PUT", traits_path(provider))]
    assert puts == [409] * rounds + [200]
    # Each round is a GET and a PUT; custom traits are created only once.
    assert result.requests == len(wire.calls) == (
        2 * (rounds + 1) + len(custom(desired))
    )


def test_writer_busy_every_round_gives_up(api, provider, conf_file,
                                          monkeypatch):
    conf = load_hwabi_conf(conf_file())
    client = placement.PlacementClient.from_conf(conf)
    written = interfere(monkeypatch, client, api, math.inf)
    wire = record_requests(client)

    with pytest.raises(placement.PlacementConflictError) as caught:
        placement.sync_provider_traits(client, provider,
                                       sample_traits(BIG, conf))

    assert report_cmd.placement_exit_code(caught.value) == 7
    assert "3 conflicts" in str(caught.value)
    puts = [status for method, url, status in wire.calls
            if (method, url) == ("PUT", traits_path(provider))]
    assert puts == [409, 409, 409]
    traits, generation = api.traits(provider)
    assert (traits, generation) == (written[-1], 3)
    assert not any(hwabi_traits.is_owned(t) for t in traits)


# -- Placement going away -----------------------------------------------------

def test_cli_fails_cleanly_while_placement_is_down_then_converges(
        tmp_path, own_placement):
    api = PlacementAdmin(own_placement)
    # Named as the sample's hypervisor, so the runs below find it by the
    # default name, as on a compute host.
    rp = create_provider(api, load_sample(BIG).hypervisor_hostname)
    conf = write_nova_conf(tmp_path / "nova.conf", own_placement.endpoint)
    small = run_cli(conf, "--sample", SMALL, "--sync", "--format", "json",
                    "--provider", rp.name)
    assert set(cli_sync(small)["added"]) == SMALL_TRAITS
    # A long-running client that found its provider before Placement went.
    client = placement.PlacementClient.from_conf(load_hwabi_conf(conf))
    client.provider(rp.name)
    old_endpoint = own_placement.endpoint

    own_placement.stop()

    with pytest.raises(placement.PlacementUnreachableError) as caught:
        placement.sync_provider_traits(client, rp, frozenset(BIG_TRAITS))
    assert report_cmd.placement_exit_code(caught.value) == 4
    down = run_cli(conf, "--sample", BIG, "--sync", "--format", "json")
    assert_one_line_error(down, 4, "unreachable at %s" % old_endpoint)

    own_placement.start()  # same database, new port
    write_nova_conf(conf, own_placement.endpoint)
    back = cli_sync(run_cli(conf, "--sample", BIG, "--sync", "--format",
                            "json"))
    assert back["provider"] == {"uuid": rp.uuid, "name": rp.name}
    assert set(back["added"]) == ladder(40, 52) | {PT}
    assert api.traits(rp)[0] == BIG_TRAITS


class StderrLines:
    """Collects a process's stderr lines as they come, to wait on them."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self._done = False
        self._changed = threading.Condition()
        threading.Thread(target=self._read, args=(proc.stderr,),
                         daemon=True).start()

    def _read(self, stream) -> None:
        for line in stream:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._done = True
            self._changed.notify_all()

    def wait_for(self, *fragments: str, after: int = -1,
                 timeout: float = 30) -> int:
        """Index of the first line after ``after`` with all fragments."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for index in range(after + 1, len(self.lines)):
                    if all(f in self.lines[index] for f in fragments):
                        return index
                left = deadline - time.monotonic()
                if left <= 0 or self._done:
                    raise AssertionError(
                        "no stderr line with %r after line %d:\n%s"
                        % (fragments, after, "\n".join(self.lines))
                    )
                self._changed.wait(left)


@contextlib.contextmanager
def interval_run(conf: Path, *args: str):
    """``nova-hwabi-report --sync --interval 1 ARGS`` in the background."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "nova_hwabi.cmd.report", "--config-file",
         str(conf), "--sync", "--interval", "1", *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        yield proc, StderrLines(proc)
    finally:
        if proc.poll() is None:  # the test failed before stopping it
            proc.kill()
            proc.wait()


def stop_with_sigterm(proc: subprocess.Popen, log: StderrLines) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0, "\n".join(log.lines)
    log.wait_for("Stopped")
    assert not any("Traceback" in line for line in log.lines)


def test_interval_keeps_syncing_until_sigterm(api, provider, conf_file):
    conf = conf_file()
    with interval_run(conf, "--sample", SMALL, "--provider",
                      provider.name) as (proc, log):
        first = log.wait_for("placement: %s" % provider.name, "added")
        # The next round finds nothing to do: the loop really repeats.
        log.wait_for("placement: %s" % provider.name, "already in sync",
                     after=first)
        assert api.traits(provider)[0] == SMALL_TRAITS
        stop_with_sigterm(proc, log)


class Relay:
    """A TCP relay on 127.0.0.1 whose target port can change.

    A restarted Placement listens on a new port, but a running
    ``--interval`` process keeps the endpoint it started with; it talks to
    the relay's fixed port instead. While the target is down the relay
    drops each connection, as a dead Placement would.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,),
                             daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client:
            try:
                upstream = socket.create_connection(
                    ("127.0.0.1", self.target_port), timeout=5
                )
            except OSError:
                return
            with upstream:
                back = threading.Thread(target=_pipe,
                                        args=(upstream, client),
                                        daemon=True)
                back.start()
                _pipe(client, upstream)
                back.join()

    def close(self) -> None:
        self._closed.set()
        self._listener.close()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


def test_interval_logs_outage_and_recovers(tmp_path, own_placement):
    api = PlacementAdmin(own_placement)
    rp = create_provider(api, "hwabi-test-%s" % uuid.uuid4().hex)
    relay = Relay(own_placement.port)
    conf = write_nova_conf(tmp_path / "nova.conf",
                           "http://127.0.0.1:%d" % relay.port)
    try:
        with interval_run(conf, "--sample", BIG,
                          "--provider", rp.name) as (proc, log):
            synced = log.wait_for("placement: %s" % rp.name, "added")
            assert api.traits(rp)[0] == BIG_TRAITS

            own_placement.stop()
            failed = log.wait_for("ERROR", "Sync failed", "unreachable",
                                  after=synced)

            own_placement.start()
            # Drift while the command could not see it: the round after
            # the outage must put the trait back.
            gone = hwabi_traits.bits_trait(52)
            api.set_traits(rp, BIG_TRAITS - {gone})
            relay.target_port = own_placement.port
            log.wait_for("placement: %s" % rp.name, "added %s" % gone,
                         after=failed)
            assert api.traits(rp)[0] == BIG_TRAITS
            stop_with_sigterm(proc, log)
    finally:
        relay.close()


# -- Credentials and providers ------------------------------------------------

def _closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        return listener.getsockname()[1]


@pytest.mark.parametrize("placement_opts, name, error, exit_code, fragment", [
    pytest.param({"token": "nobody"}, None, placement.PlacementAuthError,
                 5, "HTTP 403", id="non-admin-token"),
    pytest.param({"auth_type": None}, None, placement.PlacementAuthError,
                 5, "[placement] auth_type is not set", id="no-auth-type"),
    pytest.param({"auth_type": "password"}, None,
                 placement.PlacementAuthError, 5, "auth_url",
                 id="password-without-auth-url"),
    pytest.param({}, "hwabi-no-such-provider",
                 placement.ProviderNotFoundError, 6,
                 "no resource provider named", id="unknown-name"),
    pytest.param({}, str(uuid.uuid4()), placement.ProviderNotFoundError, 6,
                 "no resource provider with UUID", id="unknown-uuid"),
    pytest.param({"endpoint": "closed-port"}, None,
                 placement.PlacementUnreachableError, 4, "unreachable",
                 id="nothing-listening"),
])
def test_refusals_exit_with_their_code_and_write_nothing(
        api, provider, conf_file, placement_opts, name, error, exit_code,
        fragment):
    if placement_opts.get("endpoint") == "closed-port":
        placement_opts = {"endpoint": "http://127.0.0.1:%d" % _closed_port()}
    conf = conf_file(placement_opts)
    name = name or provider.name

    with pytest.raises(error) as caught:
        client = placement.PlacementClient.from_conf(load_hwabi_conf(conf))
        placement.sync_provider_traits(client, client.provider(name),
                                       frozenset(BIG_TRAITS))
    assert report_cmd.placement_exit_code(caught.value) == exit_code
    assert fragment in str(caught.value)

    proc = run_cli(conf, "--sample", BIG, "--sync", "--provider", name)
    assert_one_line_error(proc, exit_code, fragment)
    assert api.traits(provider) == (set(), 0)


# -- --dry-run ----------------------------------------------------------------

@pytest.mark.parametrize("before, sample, fmt, added, removed", [
    pytest.param(set(), BIG, "json", BIG_TRAITS, set(), id="would-add"),
    pytest.param(BIG_TRAITS, SMALL, "json", set(), ladder(40, 52) | {PT},
                 id="would-remove"),
    pytest.param(BIG_TRAITS, BIG, "json", set(), set(), id="in-sync"),
    pytest.param(set(), SMALL, "table", SMALL_TRAITS, set(),
                 id="would-add-table"),
    pytest.param(BIG_TRAITS, SMALL, "table", set(), ladder(40, 52) | {PT},
                 id="would-remove-table"),
])
def test_dry_run_shows_the_change_and_writes_nothing(
        api, provider, conf_file, before, sample, fmt, added, removed):
    api.set_traits(provider, before | {OPERATOR})
    state = api.traits(provider)

    proc = run_cli(conf_file(), "--sample", sample, "--sync", "--dry-run",
                   "--provider", provider.name, "--format", fmt)

    assert proc.returncode == 0, proc.stderr
    if fmt == "json":
        result = json.loads(proc.stdout)["sync"]
        assert result["dry_run"] is True
        assert (set(result["added"]), set(result["removed"])) == (
            added, removed,
        )
        assert result["kept_foreign"] == [OPERATOR]
        assert result["created_traits"] == []
        assert (result["requests"], result["conflicts"]) == (1, 0)
    else:
        line = proc.stdout.strip().splitlines()[-1]
        assert line.startswith("placement: %s (%s): " % (
            provider.name, provider.uuid,
        )), line
        assert ("would add nothing" in line) == (not added), line
        assert ("would remove nothing" in line) == (not removed), line
        assert all(trait in line for trait in added | removed), line
    assert api.traits(provider) == state


# -- --provider-config --------------------------------------------------------

RP_UUID = str(uuid.uuid4())


@pytest.mark.parametrize("args, identification, hwabi", [
    pytest.param((), {"name": "compute-epyc-52bits"}, {}, id="hostname"),
    pytest.param((), {"name": "compute-epyc-52bits"},
                 {"report_machine_type_traits": "true"},
                 id="with-machine-types"),
    pytest.param(("--provider", RP_UUID), {"uuid": RP_UUID}, {},
                 id="uuid"),
    pytest.param(("--provider", "$$COMPUTE_NODE"), {"uuid": "$COMPUTE_NODE"},
                 {}, id="compute-node"),
])
def test_provider_config_is_accepted_by_nova(tmp_path, conf_file, args,
                                             identification, hwabi):
    conf = conf_file(**hwabi)
    directory = tmp_path / "provider_config"
    directory.mkdir()
    proc = run_cli(conf, "--sample", BIG, "--provider-config",
                   str(directory / "hwabi.yaml"), *args)
    assert proc.returncode == 0, proc.stderr

    configs = nova_provider_config.get_provider_configs(str(directory))

    (key, entry), = configs.items()
    assert key == next(iter(identification.values()))
    assert entry["identification"] == identification
    expected = custom(sample_traits(BIG, load_hwabi_conf(conf)))
    assert ladder(32, 52) <= expected
    if hwabi:
        assert any(t.startswith(hwabi_traits.MACHINE_TRAIT_PREFIX)
                   for t in expected)
    assert sorted(entry["traits"]["additional"]) == sorted(expected)


@pytest.mark.parametrize("sample, hwabi", [
    pytest.param(BIG, {"report_bits_ladder": "false"},
                 id="address-space-only"),
    pytest.param(NONE, {}, id="no-traits"),
])
def test_provider_config_refused_without_custom_traits(tmp_path, conf_file,
                                                       sample, hwabi):
    target = tmp_path / "hwabi.yaml"
    proc = run_cli(conf_file(**hwabi), "--sample", sample,
                   "--provider-config", str(target))
    assert_one_line_error(proc, 2, "no custom traits")
    assert not target.exists()
