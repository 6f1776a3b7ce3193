"""Our parser against the installed Nova's own, on every document.

``to_cpu_info()`` must equal, key for key, what Nova's libvirt driver
``_get_cpu_info()`` builds from the same XML, including after the JSON
round trip Nova stores in ComputeNode.cpu_info.
"""

import json

import pytest
from nova.virt.libvirt import config as nova_config
from nova.virt.libvirt.driver import LibvirtDriver
from oslo_serialization import jsonutils

from nova_hwabi.capabilities import (
    parse_domain_capabilities,
    parse_host_capabilities,
)
from nova_hwabi.capabilities.samples import load_sample, sample_names
from tests.conftest import (
    CAPABILITIES_FIXTURES,
    PASSTHROUGH_48_BITS,
    PASSTHROUGH_NO_BITS,
    capabilities_fixture,
)
from tests.functional.conftest import virsh


class _NovaHost:
    """Just enough of nova.virt.libvirt.host.Host for _get_cpu_info()."""

    def __init__(self, caps):
        self._caps = caps

    def get_capabilities(self):
        return self._caps


def nova_cpu_info(document: bytes) -> dict:
    """Nova's own cpu_info for ``document``, as stored (JSON) and loaded."""
    caps = nova_config.LibvirtConfigCaps()
    caps.parse_str(document)
    driver = LibvirtDriver.__new__(LibvirtDriver)
    driver._host = _NovaHost(caps)
    stored = jsonutils.dumps(LibvirtDriver._get_cpu_info(driver))
    loaded = json.loads(stored)
    # Nova keeps features in a set, so their JSON order is arbitrary.
    loaded["features"] = sorted(loaded["features"])
    return loaded


def _documents():
    """Every shipped sample, then the written test fixtures.

    The fixtures hold host <maxphysaddr mode='passthrough'> with and
    without bits, which no sample has.
    """
    docs = [(name, load_sample(name).capabilities_xml)
            for name in sample_names()]
    docs += [(name, capabilities_fixture(name))
             for name in CAPABILITIES_FIXTURES]
    return docs


@pytest.mark.parametrize(("name", "document"), _documents(),
                         ids=[n for n, _ in _documents()])
def test_cpu_info_equals_novas(name, document):
    ours = parse_host_capabilities(document).to_cpu_info()
    assert ours == nova_cpu_info(document)
    assert json.loads(json.dumps(ours)) == ours


@pytest.mark.parametrize(("name", "maxphysaddr"), [
    (PASSTHROUGH_48_BITS, {"mode": "passthrough", "bits": 48}),
    (PASSTHROUGH_NO_BITS, {"mode": "passthrough", "bits": None}),
])
def test_passthrough_maxphysaddr_kept_like_novas(name, maxphysaddr):
    # Guards the comparison above: Nova itself must see the element, or
    # both sides could drop it and still agree.
    document = capabilities_fixture(name)
    assert nova_cpu_info(document)["maxphysaddr"] == maxphysaddr
    assert parse_host_capabilities(document).to_cpu_info()[
        "maxphysaddr"] == maxphysaddr


def test_cpu_info_equals_novas_on_the_live_host(libvirtd):
    document = virsh("capabilities").encode()
    assert parse_host_capabilities(document).to_cpu_info() == (
        nova_cpu_info(document)
    )


@pytest.mark.parametrize(("name", "document"), _documents(),
                         ids=[n for n, _ in _documents()])
def test_guests_cells_and_machines_equal_novas(name, document):
    ours = parse_host_capabilities(document)
    theirs = nova_config.LibvirtConfigCaps()
    theirs.parse_str(document)
    assert ours.uuid == theirs.host.uuid
    assert [(c.id, c.memory_kib, c.cpus) for c in ours.cells] == [
        (c.id, c.memory, tuple(cpu.id for cpu in c.cpus))
        for c in theirs.host.topology.cells
    ]
    assert [(g.os_type, g.arch) for g in ours.guests] == [
        (g.ostype, g.arch) for g in theirs.guests
    ]
    for mine, nova_guest in zip(ours.guests, theirs.guests, strict=True):
        assert set(mine.domain_types) == set(nova_guest.domains)
        for domain_type, nova_domain in nova_guest.domains.items():
            machines = mine.machines_for(domain_type)
            assert {m.name for m in machines if not m.is_alias} == set(
                nova_domain.machines
            )
            assert {m.name: m.canonical for m in machines if m.is_alias} == {
                alias: attrs["canonical"]
                for alias, attrs in nova_domain.aliases.items()
            }
            domain = next(d for d in mine.domains if d.type == domain_type)
            assert domain.emulator == nova_domain.emulator


@pytest.mark.parametrize("name", [
    n for n in sample_names() if load_sample(n).domain_capabilities_xml
])
def test_domain_capabilities_agree_with_novas(name):
    document = load_sample(name).domain_capabilities_xml
    ours = parse_domain_capabilities(document)
    theirs = nova_config.LibvirtConfigDomainCaps()
    theirs.parse_str(document)
    assert ours.machine == theirs.machine_type
    # Nova collects every <enum name='bus'> of the whole document (its
    # XPath starts with //), so its set may hold redirdev or input buses
    # too; ours are the disk's own.
    assert set(ours.disk_buses) <= theirs.devices.disk.buses
    assert set(ours.video_models) <= set(theirs.devices.video.models)
