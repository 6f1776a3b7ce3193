"""Real components for functional tests: libvirtd with QEMU.

The session uses the system libvirtd at qemu:///system. When none answers
and we are root (CI, a fresh machine), virtlogd and libvirtd are started
here and stopped again, by PID, at the end of the session. If libvirtd can
be neither reached nor started, the tests that need it fail with the reason:
they are never skipped.
"""

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

URI = "qemu:///system"
RUN_DIR = Path("/run/libvirt")
DAEMONS = (("virtlogd", Path("/run/virtlogd.pid")),
           ("libvirtd", Path("/run/libvirtd.pid")))


def virsh(*args: str, check: bool = True) -> str:
    """Run ``virsh -c qemu:///system ARGS`` and return its stdout."""
    result = subprocess.run(
        ["virsh", "-c", URI, *args], capture_output=True, text=True,
        timeout=120,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            "virsh %s failed: %s" % (" ".join(args), result.stderr.strip())
        )
    return result.stdout


def define_domain(document: str, name: str,
                  instance_uuid: str | None = None) -> str:
    """Define (not start) ``document`` in libvirtd as ``name``, with
    ``instance_uuid`` as its UUID when given; returns ``name``.

    File-backed disks are dropped: defining needs no image, and a
    captured definition's paths do not exist here.
    """
    document = re.sub(r"<name>[^<]*</name>", "<name>%s</name>" % name,
                      document, count=1)
    if instance_uuid is not None:
        document = re.sub(r"<uuid>[^<]*</uuid>",
                          "<uuid>%s</uuid>" % instance_uuid, document,
                          count=1)
    document = re.sub(r"<disk type='file'.*?</disk>", "", document,
                      flags=re.S)
    with tempfile.NamedTemporaryFile("w", suffix=".xml") as handle:
        handle.write(document)
        handle.flush()
        virsh("define", handle.name)
    return name


def _answers() -> bool:
    if shutil.which("virsh") is None:
        return False
    return subprocess.run(
        ["virsh", "-c", URI, "version"], capture_output=True, timeout=60
    ).returncode == 0


def _running(name: str, pid_file: Path) -> bool:
    """Whether ``pid_file`` names a live process called ``name``.

    A machine restored from a snapshot, or a daemon killed with SIGKILL,
    leaves the PID file behind with no process (or another one) behind it;
    such a file must not stop us starting the daemon.
    """
    try:
        pid = int(pid_file.read_text().strip())
        comm = Path("/proc/%d/comm" % pid).read_text().strip()
    except (OSError, ValueError):
        return False
    return comm == name


def _why_not_answering() -> str:
    result = subprocess.run(["virsh", "-c", URI, "version"],
                            capture_output=True, text=True, timeout=60)
    return result.stderr.strip() or "no error printed"


def _start_daemons() -> list[int]:
    for directory in ("/var/log/libvirt", "/var/lib/libvirt", RUN_DIR):
        os.makedirs(directory, exist_ok=True)
    started = []
    for name, pid_file in DAEMONS:
        if _running(name, pid_file):
            continue
        pid_file.unlink(missing_ok=True)
        subprocess.run([name, "--daemon", "--pid-file", str(pid_file)],
                       check=True, timeout=60)
        for _ in range(100):
            if pid_file.exists():
                started.append(int(pid_file.read_text().strip()))
                break
            time.sleep(0.1)
    return started


@pytest.fixture(scope="session")
def libvirtd():
    """The qemu:///system URI of a running libvirtd (started if needed)."""
    started = []
    if not _answers():
        if os.geteuid() != 0 or shutil.which("libvirtd") is None:
            pytest.fail(
                "libvirtd is not running at %s and cannot be started here "
                "(needs root and the packages scripts/setup-system "
                "installs)" % URI
            )
        started = _start_daemons()
        for _ in range(100):
            if _answers():
                break
            time.sleep(0.2)
        else:
            pytest.fail(
                "libvirtd started but %s does not answer after 20 s: %s "
                "(see /var/log/libvirt/)" % (URI, _why_not_answering())
            )
    yield URI
    for pid in reversed(started):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)


def _keep_test_methods_for_pytest() -> None:
    """Let nova.test.TestCase's cleanup spare the test method pytest needs.

    Nova's TestCase deletes instance attributes after each test, including
    the bound test method pytest removes itself afterwards, which makes
    pytest fail with AttributeError.
    """
    from nova import test as nova_test

    original = nova_test.TestCase._clear_attrs
    if getattr(original, "_hwabi_wrapped", False):
        return

    def _clear_attrs(self):
        saved = {name: value for name, value in self.__dict__.items()
                 if name.startswith("test")}
        original(self)
        self.__dict__.update(saved)

    _clear_attrs._hwabi_wrapped = True
    nova_test.TestCase._clear_attrs = _clear_attrs


_keep_test_methods_for_pytest()


def _load_libvirt_before_novas_poison() -> None:
    """Import libvirt-python once, before any Nova TestCase starts.

    Nova's TestCase installs ImportModulePoisonFixture, which fails a test
    that imports ``libvirt`` (Nova's own tests fake it). Our functional
    tests use the real libvirtd, so the module must already be loaded when
    the poison is set. Whether an earlier Nova import loaded it differs by
    series (``nova.virt.libvirt.utils`` does in Nova 33 and 34, not in 32),
    so it is loaded here, for every series.
    """
    from nova_hwabi.capabilities.connection import import_libvirt

    import_libvirt()


_load_libvirt_before_novas_poison()


def _running_placement(workdir=None):
    """An EmbeddedPlacement, started, closed when the generator ends; the
    tests needing it fail with the reason if it cannot start."""
    from nova_hwabi.testing.placement_server import (
        EmbeddedPlacement,
        PlacementStartError,
    )

    service = EmbeddedPlacement(workdir)
    try:
        service.start()
    except PlacementStartError as exc:
        service.close()
        pytest.fail("embedded Placement did not start: %s" % exc)
    yield service
    service.close()


@pytest.fixture(scope="session")
def placement_service():
    """A real Placement (sqlite, noauth2) on 127.0.0.1 for the session.

    Started once because starting it costs seconds (schema creation, WSGI
    app load); tests keep apart by creating providers with unique names.
    Tests that stop and restart Placement, or that must see no provider
    or trait of other tests, use ``module_placement``.
    """
    yield from _running_placement()


@pytest.fixture(scope="module")
def module_placement(tmp_path_factory):
    """A real Placement of the test module's own, one per module."""
    yield from _running_placement(tmp_path_factory.mktemp("placement"))
