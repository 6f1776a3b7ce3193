"""The nova.conf devstack/plugin.sh writes loads in Nova as the guide says.

DevStack cannot run here, so the plugin's config-writing functions run in
bash against a stub of DevStack's ini functions (``devstack/stub.sh``,
DevStack's iniset/iniadd/iniget_multiline semantics) on a temporary
nova.conf; then a fresh Python process loads that file with Nova's own
config parsing and checks what Nova makes of it: the scheduler's
HostManager (Nova's filter loading from ``available_filters``) runs our
ComputeCapabilitiesFilter and ImagePropertiesFilter, and
``nova.virt.driver.load_compute_driver`` returns HwabiLibvirtDriver.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STUB = Path(__file__).parent / "devstack" / "stub.sh"
NOVA_FILTERS = "nova.scheduler.filters.all_filters"
OURS = "nova_hwabi.filters.all_filters"

LOAD = textwrap.dedent("""
    import json, os, sys
    from nova_hwabi import compat
    compat.use_native_threading()
    import nova.conf
    from nova import config, objects
    from nova_hwabi import conf as hwabi_conf
    CONF = nova.conf.CONF
    hwabi_conf.register_opts(CONF)
    compat.parse_nova_args(["nova-scheduler", "--config-file", sys.argv[1]],
                           "nova-scheduler")
    objects.register_all()
    from nova_hwabi.testing.inprocess import DetachedHostManager
    manager = DetachedHostManager()
    found = {
        "available_filters": CONF.filter_scheduler.available_filters,
        "filters": {type(f).__name__: type(f).__module__
                    for f in manager.enabled_filters},
        "compute_driver": CONF.compute_driver,
        "report_bits_ladder": CONF.hwabi_capabilities.report_bits_ladder,
        "report_machine_type_traits":
            CONF.hwabi_capabilities.report_machine_type_traits,
        "request_filters": CONF.hwabi_scheduler.request_filters,
        "require_bits_ladder": CONF.hwabi_scheduler.require_bits_ladder,
    }
    if CONF.compute_driver:
        from nova.virt import driver, fake
        loaded = driver.load_compute_driver(fake.FakeVirtAPI())
        found["driver"] = "%s.%s" % (type(loaded).__module__,
                                     type(loaded).__name__)
    print(json.dumps(found))
    sys.stdout.flush()
    os._exit(0)  # Nova's libvirt driver keeps non-daemon thread pools
""")


def _run_plugin(conf: Path, services: str, settings: dict[str, str],
                times: int = 1) -> str:
    calls = "\n".join(
        ["nova_hwabi_post_config"] * times)
    script = textwrap.dedent("""
        set -euo pipefail
        source "$STUB"
        source "$ROOT/devstack/settings"
        source "$ROOT/devstack/plugin.sh"
        {calls}
    """).format(calls=calls)
    env = dict(os.environ, STUB=str(STUB), ROOT=str(ROOT),
               NOVA_CONF=str(conf), DEST=str(conf.parent),
               DEVSTACK_STUB_PYTHON=sys.executable,
               DEVSTACK_STUB_ENABLED=services, **settings)
    result = subprocess.run(["bash", "-c", script], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return conf.read_text()


def _load_in_nova(conf: Path) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", LOAD, str(conf)], capture_output=True,
        text=True, timeout=300, cwd=conf.parent,
        env={**os.environ, "OS_NOVA_DISABLE_EVENTLET_PATCHING": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


OUR_FILTERS = {
    "ComputeCapabilitiesFilter": "nova_hwabi.filters.compute_capabilities",
    "ImagePropertiesFilter": "nova_hwabi.filters.image_properties",
}

CASES = [
    # (id, services, settings, nova.conf before, expected)
    ("all-services-defaults", "n-api,n-sch,n-cpu", {}, "",
     {"available_filters": [NOVA_FILTERS, OURS],
      "compute_driver": "hwabi.HwabiLibvirtDriver",
      "driver": "nova_hwabi.virt.driver.HwabiLibvirtDriver",
      "report_bits_ladder": False, "report_machine_type_traits": False,
      # Not written: the option's default applies.
      "request_filters": ["address_space", "address_width"],
      "require_bits_ladder": False}),
    ("hwabi-scheduler", "n-sch,n-cpu", {"NOVA_HWABI_SCHEDULER": "True"}, "",
     {"available_filters": [NOVA_FILTERS, OURS],
      "driver": "nova_hwabi.virt.driver.HwabiLibvirtDriver",
      "report_bits_ladder": True, "report_machine_type_traits": True,
      "request_filters": ["address_space", "address_width",
                          "machine_type", "recorded_devices"],
      "require_bits_ladder": True}),
    # An operator's own filters stay, ours come last, once.
    ("existing-filters", "n-sch",
     {}, "[DEFAULT]\ndebug = false\n\n[filter_scheduler]\n"
         "available_filters = %s\n"
         "enabled_filters = ComputeFilter,ComputeCapabilitiesFilter,"
         "ImagePropertiesFilter\n" % NOVA_FILTERS,
     {"available_filters": [NOVA_FILTERS, OURS], "compute_driver": None}),
    # The API node only installs: nova.conf gets nothing.
    ("api-only", "n-api", {}, "",
     {"available_filters": [NOVA_FILTERS], "compute_driver": None}),
]


@pytest.mark.parametrize("services, settings, before, expected",
                         [pytest.param(*case[1:], id=case[0])
                          for case in CASES])
def test_plugin_nova_conf_loads_in_nova(tmp_path, services, settings,
                                       before, expected):
    conf = tmp_path / "nova.conf"
    conf.write_text(before)
    # Twice: DevStack re-runs post-config on a re-stack; nothing doubles.
    text = _run_plugin(conf, services, settings, times=2)
    assert text.count(OURS) == (1 if "n-sch" in services else 0), text
    found = _load_in_nova(conf)
    for key, value in expected.items():
        assert found.get(key) == value, (key, found, text)
    if "n-sch" in services:
        for name, module in OUR_FILTERS.items():
            assert found["filters"][name] == module, found["filters"]
    else:
        for name in OUR_FILTERS:
            assert found["filters"][name].startswith("nova.scheduler"), \
                found["filters"]


def test_ini_stub_keeps_devstack_semantics(tmp_path):
    """iniadd appends to a multi-line option; iniset replaces all lines."""
    conf = tmp_path / "x.conf"
    conf.write_text("[a]\n# comment\nkey = 1\nkey = 2\n[b]\nkey = 3\n")
    script = textwrap.dedent("""
        source "$STUB"
        iniadd "$F" a key 4
        echo "$(iniget_multiline "$F" a key)|$(iniget "$F" b key)"
        iniset "$F" a key 5
        iniset "$F" c new 6
        echo "$(iniget_multiline "$F" a key)|$(iniget "$F" c new)"
    """)
    result = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=60,
        env=dict(os.environ, STUB=str(STUB), F=str(conf),
                 DEVSTACK_STUB_PYTHON=sys.executable))
    assert result.stdout.splitlines() == ["1 2 4|3", "5|6"], result.stderr
    assert "# comment" in conf.read_text()
