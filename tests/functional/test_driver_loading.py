"""Stock Nova loads HwabiLibvirtDriver as the README configures it.

A fresh Python process does what nova-compute does with ``nova.conf``:
Nova's config parsing, then ``nova.virt.driver.load_compute_driver``,
which imports ``nova.virt.<compute_driver>`` and nothing else. The wheel
must carry the ``nova/virt/hwabi`` shim and none of Nova's own package
files.
"""

import os
import re
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOVA_CONF = """\
[DEFAULT]
compute_driver = hwabi.HwabiLibvirtDriver
"""
LOAD = textwrap.dedent("""
    import os, sys
    from nova_hwabi import compat
    compat.use_native_threading()  # as nova-compute chooses it, any series
    from nova import config
    from nova.virt import driver, fake
    config.parse_args(["nova-compute", "--config-file", sys.argv[1]])
    loaded = driver.load_compute_driver(fake.FakeVirtAPI())
    cls = type(loaded)
    print("%s.%s" % (cls.__module__, cls.__name__))
    sys.stdout.flush()
    os._exit(0)  # Nova's libvirt driver keeps non-daemon thread pools
""")


def test_nova_compute_config_loads_our_driver(tmp_path):
    conf = tmp_path / "nova.conf"
    conf.write_text(NOVA_CONF)
    result = subprocess.run(
        [sys.executable, "-c", LOAD, str(conf)], capture_output=True,
        text=True, timeout=300, cwd=tmp_path,
        env={**os.environ, "OS_NOVA_DISABLE_EVENTLET_PATCHING": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == \
        "nova_hwabi.virt.driver.HwabiLibvirtDriver"


def test_wheel_ships_the_shim_and_none_of_novas_files(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w",
         str(tmp_path), str(ROOT)], check=True, timeout=600,
        capture_output=True)
    (wheel,) = tmp_path.glob("nova_hwabi-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    nova_files = {n for n in names if n.startswith("nova/")}
    assert nova_files == {"nova/virt/hwabi/__init__.py"}
    assert "nova_hwabi/virt/driver.py" in names
    assert any(n.startswith("nova_hwabi/capabilities/samples/")
               for n in names)
    # Only the plugin points operators use; tests bring their own.
    (entry_points,) = [n for n in names
                       if n.endswith(".dist-info/entry_points.txt")]
    groups = re.findall(r"^\[(.+)\]$",
                        zipfile.ZipFile(wheel).read(entry_points).decode(),
                        re.MULTILINE)
    assert sorted(groups) == [
        "console_scripts", "nova.api.extra_spec_validators",
        "nova_hwabi.request_filters", "nova_hwabi.scheduler.filters",
        "oslo.config.opts"]
