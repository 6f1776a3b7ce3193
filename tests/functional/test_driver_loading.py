"""Stock Nova loads HwabiLibvirtDriver as the README configures it.

A fresh Python process does what nova-compute does with ``nova.conf``:
Nova's config parsing, then ``nova.virt.driver.load_compute_driver``,
which imports ``nova.virt.<compute_driver>`` and nothing else. The wheel
must carry the ``nova/virt/hwabi`` shim and none of Nova's own package
files, and build without warnings.
"""

import os
import re
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

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


# The one warning a clean build prints, and no project setting removes:
# pbr adds ``global-exclude *.pyc`` to every manifest it builds from git
# (pbr's LocalManifestMaker), and setuptools warns when nothing tracked
# matches, as in every pbr project without committed bytecode.
PBR_PYC_WARNING = ("warning: no previously-included files matching '*.pyc'"
                   " found anywhere in distribution")
# distutils' "warning: ..." lines and Python warnings ("...Warning: ...")
BUILD_WARNING = re.compile(r"^\s*(warning: .*|.*\b\w+Warning: .*)$",
                           re.MULTILINE)


@pytest.fixture(scope="module")
def wheel_build(tmp_path_factory):
    """``(wheel path, build output)``: the checkout built as a release is.

    ``python -m build`` makes the sdist from the git checkout (pbr writes
    AUTHORS and ChangeLog first), then the wheel from that sdist, so
    nothing untracked in the checkout (an old ``build/``) reaches the wheel.
    """
    out = tmp_path_factory.mktemp("dist")
    # PYTHONDONTWRITEBYTECODE (tox sets it) makes setuptools warn that it
    # skips byte-compiling: the builder's choice, not the package's.
    env = {k: v for k, v in os.environ.items()
           if k != "PYTHONDONTWRITEBYTECODE"}
    result = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    (wheel,) = out.glob("nova_hwabi-*.whl")
    return wheel, result.stdout + result.stderr


def test_wheel_builds_without_warnings(wheel_build):
    _, output = wheel_build
    warnings = {line.strip() for line in BUILD_WARNING.findall(output)}
    assert warnings <= {PBR_PYC_WARNING}, sorted(warnings)


def test_wheel_ships_the_shim_and_none_of_novas_files(wheel_build):
    wheel, _ = wheel_build
    names = set(zipfile.ZipFile(wheel).namelist())
    nova_files = {n for n in names if n.startswith("nova/")}
    assert nova_files == {"nova/virt/hwabi/__init__.py"}
    assert "nova_hwabi/virt/driver.py" in names
    assert any(n.startswith("nova_hwabi/capabilities/samples/")
               for n in names)
    # The package, the shim and the metadata; no tests, docs or scripts.
    assert {n.split("/")[0] for n in names if ".dist-info/" not in n} == {
        "nova", "nova_hwabi"}
    assert not [n for n in names if "/tests/" in n or n.endswith(".pyc")]
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
