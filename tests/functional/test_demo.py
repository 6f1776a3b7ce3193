"""The README's main job: nova-hwabi-demo end to end, as a user runs it."""

import subprocess
import sys


def test_demo_runs_every_request_as_expected():
    result = subprocess.run(
        [sys.executable, "-m", "nova_hwabi.cmd.demo"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    out = result.stdout
    assert "[4/4] Boot requests" in out
    assert "8 requests, all as expected" in out
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
