"""Filter discovery, shared instances, logs, and the scheduler wrapper."""

import logging
import subprocess
import sys

import pytest

from nova_hwabi import compat
from nova_hwabi.filters import NAMESPACE, all_filters
from nova_hwabi.filters.address_width import AddressWidthFilter
from nova_hwabi.filters.compute_capabilities import ComputeCapabilitiesFilter
from nova_hwabi.filters.image_properties import ImagePropertiesFilter
from nova_hwabi.testing import inprocess

FM, FB = "hw:maxphysaddr_mode", "hw:maxphysaddr_bits"


def _hosts(*bits):
    return [
        inprocess.host_state(inprocess.compute_node(
            index, {"arch": "x86_64",
                    "maxphysaddr": {"mode": "emulate", "bits": b}},
        ))
        for index, b in enumerate(bits)
    ]


def test_all_filters_finds_both_drop_ins_and_the_width_filter():
    assert all_filters() == [AddressWidthFilter, ComputeCapabilitiesFilter,
                             ImagePropertiesFilter]


# Every way an installed plugin can fail to load: its module is missing,
# its module raises on import, or the module lacks the named class.
BROKEN_PLUGINS = [
    ("hwabi_test_no_such_module:MissingFilter", "hwabi_test_no_such_module"),
    ("hwabi_test_raises_on_import:AnyFilter", "plugin import failed"),
    ("nova_hwabi.filters.address_width:NoSuchFilter", "NoSuchFilter"),
]
RAISES_ON_IMPORT = 'raise RuntimeError("plugin import failed")\n'


@pytest.mark.parametrize(("target", "reason"), BROKEN_PLUGINS)
def test_a_broken_entry_point_is_logged_and_left_out(
        plugin_distribution, caplog, target, reason):
    plugin_distribution.add_module("hwabi_test_raises_on_import",
                                   RAISES_ON_IMPORT)
    plugin_distribution.add(NAMESPACE, BrokenFilter=target)
    assert all_filters() == [AddressWidthFilter, ComputeCapabilitiesFilter,
                             ImagePropertiesFilter]
    (line,) = [r.getMessage() for r in caplog.records
               if r.levelno == logging.ERROR]
    assert line.startswith(
        f"Cannot load nova-hwabi scheduler filter BrokenFilter ({target}, "
        f"entry point group {NAMESPACE}): ")
    assert reason in line
    assert line.endswith("; the scheduler goes on without it")


def test_another_distribution_s_filter_is_found(plugin_distribution):
    plugin_distribution.add(
        NAMESPACE,
        ZExtraFilter="nova_hwabi.filters.address_width:AddressWidthFilter")
    assert all_filters() == [AddressWidthFilter, ComputeCapabilitiesFilter,
                             ImagePropertiesFilter, AddressWidthFilter]


def test_one_instance_serves_interleaved_requests():
    # Nova shares one filter instance between concurrent requests; the
    # generators of two requests are advanced in turn.
    shared = ComputeCapabilitiesFilter()
    hosts = _hosts(39, 46, 52)
    wide = shared.filter_all(hosts, inprocess.request_spec(
        {FM: "emulate", FB: "48"}))
    narrow = shared.filter_all(hosts, inprocess.request_spec(
        {FM: "emulate", FB: "40"}))
    first_wide, first_narrow = next(wide), next(narrow)
    assert [first_wide, *wide] == hosts[2:]
    assert [first_narrow, *narrow] == hosts[1:]


def test_rejected_hosts_are_logged_with_reasons(caplog):
    caplog.set_level(logging.DEBUG, logger="nova_hwabi")
    hosts = _hosts(39, 46)
    spec = inprocess.request_spec({FM: "emulate", FB: "46"})
    assert list(ComputeCapabilitiesFilter().filter_all(hosts, spec)) == (
        hosts[1:]
    )
    assert "maxphysaddr bits 39 < 46 asked by the flavor" in caplog.text
    assert "rejected 1 of 2 hosts for instance" in caplog.text


def test_every_host_rejected_is_an_info_line(caplog):
    caplog.set_level(logging.INFO, logger="nova_hwabi")
    spec = inprocess.request_spec({FM: "emulate", FB: "abc"})
    assert list(ImagePropertiesFilter().filter_all(_hosts(46), spec)) == []
    summary = [r for r in caplog.records if "rejected 1 of 1" in r.message]
    assert summary and summary[0].levelno == logging.INFO
    warning = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "expected an integer from 32 to 52" in warning[0].message


# Nova's scheduler entry point picks its concurrency backend at import and
# refuses to run once eventlet is loaded, as it is in this test process, so
# the wrapper runs in a fresh interpreter, as it does for operators.
WRAPPER_PROBE = """
from unittest import mock
from nova_hwabi.cmd import scheduler

def fake_nova_main():
    from nova.scheduler import request_filter
    from nova_hwabi.request_filters import RequestFilterDispatcher
    ours = [f for f in request_filter.ALL_REQUEST_FILTERS
            if isinstance(f, RequestFilterDispatcher)]
    print("dispatchers:", len(ours))

with mock.patch("nova.cmd.scheduler.main", fake_nova_main):
    scheduler.main()
"""


def test_scheduler_wrapper_registers_before_nova_starts():
    result = subprocess.run([sys.executable, "-c", WRAPPER_PROBE],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "dispatchers: 1" in result.stdout


def test_scheduler_wrapper_starts_novas_entry_point():
    # --version makes Nova's own main() parse its arguments and exit: the
    # wrapper got through Nova's start-up checks and handed over.
    result = subprocess.run(
        [sys.executable, "-m", "nova_hwabi.cmd.scheduler", "--version"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == compat.nova_version()


# Requests whose per-host answers the filters keep per distinct value.
MEMOISED_REQUESTS = [
    ({FM: "emulate", FB: "46", "capabilities:cpu_info:vendor": "Intel"},
     {"hw_architecture": "x86_64"}),
    ({}, {"hw_architecture": "aarch64"}),
    ({"capabilities:cpu_info:features": "<in> aes"},
     {"hw_architecture": "x86_64", "img_hv_type": "kvm"}),
    ({}, {}),
]


def _mixed_fleet():
    hosts = []
    for index in range(24):
        arm = index % 4 == 3
        cpu_info = ({"arch": "aarch64", "vendor": "ARM"} if arm else
                    {"arch": "x86_64", "vendor": ("Intel", "AMD")[index % 2],
                     "features": ["vaes"] if index % 3 else ["aes"],
                     "maxphysaddr": {"mode": "emulate",
                                     "bits": (39, 46, 52)[index % 3]}})
        hosts.append(inprocess.host_state(inprocess.compute_node(
            index, cpu_info, arch="aarch64" if arm else "x86_64")))
    hosts[5].cpu_info = "not JSON"
    hosts[6].supported_instances = None
    return hosts


def test_memoised_answers_equal_per_host_answers():
    # Equal cpu_info / supported_instances values live in distinct objects,
    # as in the scheduler; the answers found by identity must be the ones
    # each host gets on its own, also after a host's values are replaced.
    hosts = _mixed_fleet()
    for flavor, image in MEMOISED_REQUESTS * 2:
        spec = inprocess.request_spec(flavor, image)
        for host_filter in (ComputeCapabilitiesFilter(),
                            ImagePropertiesFilter()):
            expected = [h for h in hosts if host_filter.host_passes(h, spec)]
            assert list(host_filter.filter_all(hosts, spec)) == expected
        hosts[0].cpu_info = hosts[3].cpu_info  # an x86 host turns Arm
        hosts[0].supported_instances = [["aarch64", "kvm", "hvm"]]
