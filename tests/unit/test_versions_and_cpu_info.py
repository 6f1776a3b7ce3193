"""libvirt versions and the cpu_info shape."""

import json

import pytest

from nova_hwabi.capabilities import (
    CapabilitiesError,
    LibvirtVersion,
    parse_host_capabilities,
)
from nova_hwabi.capabilities.samples import load_sample
from tests.conftest import (
    PASSTHROUGH_48_BITS,
    PASSTHROUGH_NO_BITS,
    capabilities_fixture,
)


@pytest.mark.parametrize(("text", "version"), [
    ("9.0.0", (9, 0, 0)), ("8.7", (8, 7, 0)), (" 10.1.2 ", (10, 1, 2)),
])
def test_parse_version(text, version):
    assert LibvirtVersion.parse(text) == version


@pytest.mark.parametrize("text", ["", "9", "9.x.0", "1.2.3.4", "v9.0.0"])
def test_bad_version(text):
    with pytest.raises(CapabilitiesError, match=r"expected X\.Y\.Z"):
        LibvirtVersion.parse(text)


def test_version_from_libvirt_integer():
    assert LibvirtVersion.from_int(9000000) == (9, 0, 0)
    assert LibvirtVersion.from_int(10001002) == (10, 1, 2)
    assert str(LibvirtVersion.from_int(8007000)) == "8.7.0"
    assert LibvirtVersion(8, 6, 9) < LibvirtVersion(8, 7, 0)


def test_cpu_info_of_captured_host():
    caps = parse_host_capabilities(
        load_sample("x86_64-kvm-debian12").capabilities_xml
    )
    info = caps.to_cpu_info()
    assert list(info) == [
        "arch", "model", "vendor", "topology", "maxphysaddr", "features"
    ]
    assert info["topology"] == {
        "cells": 1, "sockets": 1, "cores": 2, "threads": 1
    }
    assert info["maxphysaddr"] == {"mode": "emulate", "bits": 46}
    assert info["features"] == sorted(info["features"])
    assert "arch-capabilities" in info["features"]
    assert json.loads(json.dumps(info)) == info


def test_cpu_info_without_maxphysaddr_or_topology():
    caps = parse_host_capabilities(
        "<capabilities><host><cpu><arch>aarch64</arch>"
        "<feature name='b'/><feature name='a'/>"
        "<feature name='off' policy='disable'/></cpu></host></capabilities>"
    )
    assert caps.to_cpu_info() == {
        "arch": "aarch64", "model": None, "vendor": None,
        "topology": {"cells": 1, "sockets": None, "cores": None,
                     "threads": None},
        "features": ["a", "b"],
    }


# Nova's _get_cpu_info keeps {mode, bits} whatever the mode, bits None
# when the element has none (nova 34, nova/virt/libvirt/driver.py).
@pytest.mark.parametrize(("name", "maxphysaddr", "topology"), [
    (PASSTHROUGH_48_BITS, {"mode": "passthrough", "bits": 48},
     {"cells": 2, "sockets": 1, "cores": 8, "threads": 2}),
    (PASSTHROUGH_NO_BITS, {"mode": "passthrough", "bits": None},
     {"cells": 1, "sockets": 1, "cores": 4, "threads": 2}),
])
def test_cpu_info_keeps_passthrough_maxphysaddr(name, maxphysaddr, topology):
    info = parse_host_capabilities(capabilities_fixture(name)).to_cpu_info()
    assert list(info) == [
        "arch", "model", "vendor", "topology", "maxphysaddr", "features"
    ]
    assert info["maxphysaddr"] == maxphysaddr
    assert info["topology"] == topology
    # As stored in ComputeNode.cpu_info and read back by the scheduler.
    assert json.loads(json.dumps(info))["maxphysaddr"] == maxphysaddr
