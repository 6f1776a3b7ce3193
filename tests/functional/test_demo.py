"""The README's main job: nova-hwabi-demo end to end, as a user runs it."""

import re
import subprocess
import sys

import pytest

from nova_hwabi.demo import abi
from tests.conftest import DOMAINS


@pytest.fixture(scope="module")
def demo():
    """One run of the demo, as a user runs it (no libvirtd involved)."""
    return subprocess.run(
        [sys.executable, "-m", "nova_hwabi.cmd.demo"],
        capture_output=True, text=True, timeout=300,
    )


def test_demo_runs_every_request_as_expected(demo):
    result = demo
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    out = result.stdout
    assert "[4/4] Boot requests" in out
    assert "8 requests, all as expected; 4 guests, all as expected" in out
    assert "UNEXPECTED" not in out
    # The layers each do their part: Placement narrows with the ladder,
    # the filters give the exact reason where Placement could not.
    assert "requires COMPUTE_ADDRESS_SPACE_EMULATED, " \
           "CUSTOM_HWABI_MAXPHYSADDR_BITS_46" in out
    assert "maxphysaddr bits 39 < 46 asked by the flavor" in out
    assert "Traceback" not in result.stderr


def test_demo_help_is_fast_and_documents_exit_codes():
    result = subprocess.run(
        [sys.executable, "-m", "nova_hwabi.cmd.demo", "--help"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0
    assert "exit codes" in result.stdout


def _row(out: str, name: str, step: str) -> str:
    """The line of guest ``name`` in act 2's step ``step`` ("[2/3]")."""
    section = out.split("Act 2:", 1)[1].split(step, 1)[1]
    return next(line for line in section.splitlines()
                if line.split()[:1] == [name])


@pytest.mark.parametrize(("name", "running", "following", "verdict"), [
    ("web-pc", "pc-i440fx-7.2", "pc-i440fx-7.2", "keeps its chipset"),
    ("db-q35", "pc-q35-7.2", "pc-q35-7.2", "keeps its chipset"),
    ("old-q35", "pc-q35-6.2", "pc-q35-7.2",
     "CHANGES version pc-q35-6.2 -> pc-q35-7.2"),
    ("legacy-pc", "pc-i440fx-7.2", "pc-q35-7.2",
     "CHANGES chipset i440fx -> q35"),
])
def test_act2_new_default_keeps_only_recorded_chipsets(demo, name, running,
                                                       following, verdict):
    assert "[libvirt] hw_machine_type changed: x86_64=pc -> x86_64=q35" \
        in demo.stdout
    row = _row(demo.stdout, name, "[2/3]")
    assert row.split()[1:3] == [running, following], row
    assert verdict + " (as expected)" in row


def test_act2_records_in_novas_databases_and_audits(demo):
    out = demo.stdout
    # The recorder wrote Nova's key and the versioned pin, and the devices
    # the guest was given: no input bus from libvirt's ps2 devices.
    recorded = out.split("web-pc", 2)[1]
    assert "image_hw_machine_type=pc-i440fx-7.2, " \
           "hwabi_machine_type=pc-i440fx-7.2; hw_disk_bus=ide" in recorded
    assert "hw_input_bus" not in out
    audit = out.split("[3/3]", 1)[1]
    assert re.search(r"old-q35 .*\n.*drift: Nova's record q35 means "
                     r"pc-q35-7.2 on this host but the guest runs "
                     r"pc-q35-6.2", audit)
    assert re.search(r"legacy-pc .*\n.*drift: no machine type recorded",
                     audit)
    assert audit.count("no drift (as expected)") == 2


def test_demo_ships_the_captured_domains_unchanged():
    for guest in abi.GUESTS:
        shipped = abi.resources.files("nova_hwabi.demo").joinpath(
            "domains", guest.domain_file).read_bytes()
        assert shipped == (DOMAINS / guest.domain_file).read_bytes()
