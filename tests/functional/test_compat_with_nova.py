"""nova_hwabi.compat's answers checked against the installed Nova itself.

CI runs this on every supported series: each answer must match what that
Nova really does, not what the compat module was told.
"""

import inspect
import subprocess
import sys

from nova.virt.libvirt.driver import LibvirtDriver

from nova_hwabi import compat


def test_installed_nova_is_supported():
    series = compat.check_supported()
    assert compat.describe_nova().startswith(
        "nova %s (%s)" % (compat.nova_version(),
                          compat.SUPPORTED_SERIES[series]))


def _takes_instances(method) -> bool:
    return "instances" in inspect.signature(method).parameters


def test_startup_seam_matches_the_libvirt_driver():
    # Where the driver records instances' defaults: from the instances the
    # compute manager hands to process_instances_at_startup, or by loading
    # them itself at the end of init_host (no argument).
    registers = LibvirtDriver._register_all_undefined_instance_details
    init_host = inspect.getsource(LibvirtDriver.init_host)
    if compat.registers_defaults_in_init_host():
        assert not _takes_instances(registers)
        assert "_register_all_undefined_instance_details()" in init_host
        assert compat.startup_seam() == compat.SEAM_INIT_HOST
    else:
        assert _takes_instances(registers)
        assert _takes_instances(LibvirtDriver.process_instances_at_startup)
        assert "_register_all_undefined_instance_details" not in init_host
        assert (compat.startup_seam()
                == compat.SEAM_PROCESS_INSTANCES_AT_STARTUP)


# Run in a fresh interpreter: Nova chooses its backend once per process.
# Python's default warning filters, as in an admin command: eventlet's
# warning (a plain Warning) would show; DeprecationWarnings outside
# __main__ do not.
THREADING_PROBE = """
from nova_hwabi import compat
compat.use_native_threading()
compat.use_native_threading()
import nova.conf, nova.utils
from nova import monkey_patch
assert not monkey_patch.is_patched(), "eventlet patching was applied"
assert nova.utils.concurrency_mode_threading()
compat.parse_nova_args(["probe"], "probe-prog", configure_db=False,
                       init_rpc=False)
print("threading ok")
"""


def test_native_threading_quietly_on_this_series():
    result = subprocess.run(
        [sys.executable, "-c", THREADING_PROBE], capture_output=True,
        text=True, timeout=300, env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "threading ok\n"
    # Neither Nova's threading notice nor eventlet's deprecation warning.
    assert result.stderr == ""


def test_program_name_reaches_command_line_errors():
    probe = ("from nova_hwabi import compat\n"
             "compat.use_native_threading()\n"
             "compat.parse_nova_args(['x', '--no-such-option'], 'probe-prog',"
             " configure_db=False, init_rpc=False)\n")
    result = subprocess.run([sys.executable, "-c", probe],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert "probe-prog: error: unrecognized arguments: --no-such-option" in (
        result.stderr), result.stderr
