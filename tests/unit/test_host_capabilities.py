"""parse_host_capabilities on real and written documents."""

import pytest

from nova_hwabi.capabilities import (
    CapabilitiesError,
    CPUTopology,
    MaxPhysAddr,
    parse_host_capabilities,
)
from nova_hwabi.capabilities.samples import load_sample
from tests.conftest import (
    CAPABILITIES_FIXTURES,
    PASSTHROUGH_48_BITS,
    PASSTHROUGH_NO_BITS,
    capabilities_fixture,
)

# Facts read off each sample's XML by hand: arch, maxphysaddr, topology,
# NUMA cell ids, guest arches, and one alias with its canonical name.
EXPECTED = {
    "x86_64-kvm-debian12": (
        "x86_64", MaxPhysAddr("emulate", 46), CPUTopology(1, 1, 1, 2, 1),
        (0,), ("i686", "x86_64"), ("x86_64", "q35", "pc-q35-7.2"),
    ),
    "x86_64-multiarch-debian12": (
        "x86_64", MaxPhysAddr("emulate", 46), CPUTopology(1, 1, 1, 2, 1),
        (0,), ("alpha", "armv6l", "armv7l", "aarch64", "cris", "i686",
               "m68k", "microblaze", "microblazeel", "ppc", "ppc64",
               "ppc64le", "riscv32", "riscv64", "s390x", "sh4", "sh4eb",
               "x86_64", "xtensa", "xtensaeb"),
        ("ppc64le", "pseries", "pseries-7.2"),
    ),
    "x86_64-passthrough-52bits": (
        "x86_64", MaxPhysAddr("emulate", 52), CPUTopology(1, 1, 1, 16, 2),
        (0, 1), ("i686", "x86_64"), ("x86_64", "q35", "pc-q35-8.2"),
    ),
    "x86_64-no-maxphysaddr-libvirt8": (
        "x86_64", None, CPUTopology(1, 1, 1, 20, 2),
        (0,), ("x86_64",), ("x86_64", "ubuntu-q35", "pc-q35-jammy"),
    ),
    "x86_64-numa4-39bits": (
        "x86_64", MaxPhysAddr("emulate", 39), CPUTopology(1, 1, 1, 2, 1),
        (0, 1, 2, 3), ("i686", "x86_64"), ("x86_64", "pc", "pc-i440fx-8.0"),
    ),
    "aarch64-virt": (
        "aarch64", None, CPUTopology(1, 1, 1, 80, 1),
        (0,), ("armv7l", "aarch64"), ("aarch64", "virt", "virt-7.2"),
    ),
    "s390x-ccw": (
        "s390x", None, CPUTopology(1, 1, 1, 8, 2),
        (0,), ("s390x",), ("s390x", "s390-ccw-virtio", "s390-ccw-virtio-7.2"),
    ),
    "ppc64le-pseries": (
        "ppc64le", None, CPUTopology(1, 1, 1, 10, 4),
        (0, 8), ("ppc64", "ppc64le"), ("ppc64le", "pseries", "pseries-7.2"),
    ),
}


def test_every_sample_has_expectations(sample):
    assert sample.name in EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_facts(name):
    arch, maxphysaddr, topology, cells, arches, alias = EXPECTED[name]
    caps = parse_host_capabilities(load_sample(name).capabilities_xml)
    assert caps.cpu.arch == arch
    assert caps.cpu.maxphysaddr == maxphysaddr
    assert caps.cpu.topology == topology
    assert tuple(cell.id for cell in caps.cells) == cells
    assert tuple(guest.arch for guest in caps.guests) == arches
    guest_arch, alias_name, canonical = alias
    guest = caps.guests_for(guest_arch)[0]
    assert guest.canonical_machine(alias_name) == canonical
    assert guest.canonical_machine(canonical) == canonical
    assert guest.canonical_machine("no-such-machine") is None


# The same facts for the written fixtures whose host <maxphysaddr> is
# mode='passthrough' (tests/fixtures/capabilities/).
FIXTURE_EXPECTED = {
    PASSTHROUGH_48_BITS: (
        "x86_64", MaxPhysAddr("passthrough", 48), CPUTopology(1, 1, 1, 8, 2),
        (0, 1), ("i686", "x86_64"), ("x86_64", "q35", "pc-q35-8.2"),
    ),
    PASSTHROUGH_NO_BITS: (
        "x86_64", MaxPhysAddr("passthrough"), CPUTopology(1, 1, 1, 4, 2),
        (0,), ("i686", "x86_64"), ("x86_64", "pc", "pc-i440fx-8.2"),
    ),
}


def test_every_capabilities_fixture_has_expectations():
    assert set(FIXTURE_EXPECTED) == set(CAPABILITIES_FIXTURES)


@pytest.mark.parametrize("name", sorted(FIXTURE_EXPECTED))
def test_passthrough_fixture_facts(name):
    arch, maxphysaddr, topology, cells, arches, alias = FIXTURE_EXPECTED[name]
    caps = parse_host_capabilities(capabilities_fixture(name))
    assert caps.cpu.arch == arch
    assert caps.cpu.maxphysaddr == maxphysaddr
    assert caps.cpu.topology == topology
    assert tuple(cell.id for cell in caps.cells) == cells
    assert tuple(guest.arch for guest in caps.guests) == arches
    guest_arch, alias_name, canonical = alias
    assert caps.guests_for(guest_arch)[0].canonical_machine(alias_name) == (
        canonical
    )


def test_str_and_bytes_give_the_same_result(sample):
    as_bytes = parse_host_capabilities(sample.capabilities_xml)
    as_str = parse_host_capabilities(sample.capabilities_xml.decode())
    assert as_bytes == as_str


def test_machines_keep_flags_and_limits():
    caps = parse_host_capabilities(
        load_sample("x86_64-kvm-debian12").capabilities_xml
    )
    machines = {m.name: m for m in caps.guests_for("x86_64")[0].machines}
    assert machines["pc-i440fx-1.4"].deprecated is True
    assert machines["pc-q35-7.2"].deprecated is False
    assert machines["pc-q35-7.2"].max_cpus == 288
    assert machines["q35"].is_alias and machines["q35"].canonical == (
        "pc-q35-7.2"
    )
    assert not machines["pc-q35-7.2"].is_alias


def test_domain_type_with_its_own_machines():
    # The numa4 sample uses the older layout where <domain type='kvm'>
    # lists its own emulator and machines.
    caps = parse_host_capabilities(
        load_sample("x86_64-numa4-39bits").capabilities_xml
    )
    guest = caps.guests_for("x86_64")[0]
    qemu = {m.name for m in guest.machines_for("qemu")}
    kvm = {m.name for m in guest.machines_for("kvm")}
    assert kvm and qemu and kvm != qemu
    kvm_domain = next(d for d in guest.domains if d.type == "kvm")
    assert kvm_domain.emulator == "/usr/bin/qemu-kvm"
    assert guest.machines_for("lxc") == ()


def test_numa_cells_memory_and_cpus():
    caps = parse_host_capabilities(
        load_sample("x86_64-kvm-debian12").capabilities_xml
    )
    (cell,) = caps.cells
    assert cell.memory_kib == 4810968
    assert cell.cpus == (0, 1)


def _caps(host_inner: str, guests: str = "") -> str:
    return "<capabilities><host>%s</host>%s</capabilities>" % (
        host_inner, guests,
    )


CPU = "<cpu><arch>x86_64</arch>%s</cpu>"

INVALID = [
    ("", "empty"),
    ("<capabilities>", "not well-formed"),
    ("<domain type='kvm'/>", "expected a <capabilities> document"),
    ("<capabilities/>", "missing <host>"),
    (_caps(""), "missing <cpu>"),
    (_caps("<cpu><model>x</model></cpu>"), "missing <arch>"),
    (_caps(CPU % "<topology sockets='x' cores='1' threads='1'/>"),
     "topology@sockets: expected an integer, got 'x'"),
    (_caps(CPU % "<topology sockets='1' threads='1'/>"),
     "topology@cores: missing"),
    (_caps(CPU % "<topology sockets='0' cores='1' threads='1'/>"),
     "expected an integer >= 1, got 0"),
    (_caps(CPU % "<maxphysaddr mode='fake' bits='40'/>"),
     "maxphysaddr@mode: expected one of emulate, passthrough"),
    (_caps(CPU % "<maxphysaddr mode='emulate' bits='-1'/>"),
     "maxphysaddr@bits: expected an integer >= 1"),
    (_caps(CPU % "<feature/>"), "feature: missing 'name'"),
    (_caps(CPU % "", "<guest><arch name='x86_64'/></guest>"),
     "guest[0]: missing <os_type>"),
    (_caps(CPU % "", "<guest><os_type>hvm</os_type></guest>"),
     "guest[0]: missing <arch>"),
    (_caps(CPU % "", "<guest><os_type>hvm</os_type><arch>"
           "<machine>pc</machine></arch></guest>"),
     "guest[0]/arch: missing 'name'"),
    (_caps(CPU % "", "<guest><os_type>hvm</os_type><arch name='x'>"
           "<machine maxCpus='many'>pc</machine></arch></guest>"),
     "machine@maxCpus: expected an integer, got 'many'"),
    (_caps(CPU % "", "<guest><os_type>hvm</os_type><arch name='x'>"
           "<machine deprecated='maybe'>pc</machine></arch></guest>"),
     "machine@deprecated: expected 'yes' or 'no'"),
    (_caps(CPU % "", "<guest><os_type>hvm</os_type><arch name='x'>"
           "<machine> </machine></arch></guest>"),
     "expected a machine name"),
    (_caps(CPU % "", "<guest><os_type>hvm</os_type><arch name='x'>"
           "<domain/></arch></guest>"),
     "domain: missing 'type'"),
    (_caps(CPU % "<topology sockets='1' cores='1' threads='1'/>")
     .replace("</host>", "<topology><cells num='1'><cell id='0'>"
              "<memory unit='parsec'>1</memory></cell></cells>"
              "</topology></host>"),
     "unknown memory unit 'parsec'"),
    (_caps(CPU % "") + _caps(CPU % ""), "not well-formed"),
    ("<capabilities><host/><host/></capabilities>", "more than one <host>"),
]


@pytest.mark.parametrize(("document", "message"), INVALID)
def test_invalid_documents_say_what_is_wrong(document, message):
    with pytest.raises(CapabilitiesError, match=None) as raised:
        parse_host_capabilities(document)
    assert message in str(raised.value)


def test_non_text_input_is_a_capabilities_error():
    with pytest.raises(CapabilitiesError, match="str or bytes, got int"):
        parse_host_capabilities(42)


def test_minimal_document_without_topology():
    caps = parse_host_capabilities(_caps(CPU % ""))
    assert caps.cells is None
    assert caps.cpu.topology is None
    assert caps.guests == ()
