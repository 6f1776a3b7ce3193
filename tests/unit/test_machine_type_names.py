"""Every machine type a host's QEMU lists parses; junk still does not.

The names come from every capabilities and domain capabilities document we
ship or keep as a fixture (the Debian 12 capture with every QEMU system
emulator alone lists 609 machine types across 20 guest architectures),
plus the forms distributions add: qemu-kvm's and Ubuntu's old i440fx
names, and Ubuntu releases newer than the grammar's table.
"""

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from nova_hwabi.machine_type.names import (
    NOT_CODENAMES,
    UBUNTU_RELEASES,
    IncomparableMachineTypesError,
    MachineType,
    UnsupportedMachineType,
    compare_machine_types,
    parse_machine_type,
)
from nova_hwabi.machine_type.updates import (
    InvalidMachineTypeUpdate,
    check_update,
)

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = sorted(
    list((ROOT / "nova_hwabi" / "capabilities" / "samples").glob("*/*.xml"))
    + list((ROOT / "tests" / "fixtures").rglob("*.xml"))
)


def _listed_names(path: Path) -> set[str]:
    """Machine names (and canonical names) a libvirt document lists."""
    tree = etree.parse(str(path), etree.XMLParser(resolve_entities=False))
    names = set()
    for machine in tree.iter("machine"):
        if machine.text and machine.text.strip():
            names.add(machine.text.strip())
        if machine.get("canonical"):
            names.add(machine.get("canonical"))
    for os_type in tree.iter("type"):
        if os_type.get("machine"):
            names.add(os_type.get("machine"))
    return names


LISTED = sorted({name for path in DOCUMENTS for name in _listed_names(path)})


def test_the_documents_list_hundreds_of_machine_types():
    # Guards the test below against finding no documents.
    assert len(DOCUMENTS) >= 10
    assert len(LISTED) >= 250
    assert {"pc-q35-7.2", "raspi3b", "s390-ccw-virtio-7.2",
            "pseries-7.2"} <= set(LISTED)


@pytest.mark.parametrize("name", LISTED)
def test_every_listed_machine_type_parses(name):
    assert parse_machine_type(name).name == name


# Names distributions' QEMU builds list that no shipped capture has:
# name -> (family, variant, version, flavour, release).
DISTRIBUTION_NAMES = [
    ("pc-1.0-qemu-kvm", ("i440fx", "upstream", (1, 0), "qemu-kvm", "")),
    ("pc-1.2-qemu-kvm", ("i440fx", "upstream", (1, 2), "qemu-kvm", "")),
    ("pc-1.0-precise", ("i440fx", "upstream", (1, 0), "precise", "")),
    ("pc-0.12", ("i440fx", "upstream", (0, 12), "", "")),
    ("rhel6.6.0", ("i440fx", "rhel", (6, 6, 0), "", "")),
    ("pc-q35-noble", ("q35", "ubuntu", (24, 4), "", "")),
    ("pc-i440fx-plucky", ("i440fx", "ubuntu", (25, 4), "", "")),
    # Releases after the table: parsed, their number unknown.
    ("pc-q35-stonking", ("q35", "ubuntu", None, "", "stonking")),
    ("pc-i440fx-stonking-hpb", ("i440fx", "ubuntu", None, "hpb",
                                "stonking")),
    ("pseries-stonking", ("pseries", "ubuntu", None, "", "stonking")),
    ("s390-ccw-virtio-tremendous", ("s390-ccw-virtio", "ubuntu", None, "",
                                    "tremendous")),
]


@pytest.mark.parametrize(("name", "expected"), DISTRIBUTION_NAMES)
def test_distribution_names_parse(name, expected):
    parsed = parse_machine_type(name)
    family, variant, version, flavour, release = expected
    assert parsed == MachineType(name, family, variant, version, flavour,
                                 release=release)
    assert parsed.is_versioned


def test_a_newer_ubuntu_release_cannot_be_ordered():
    with pytest.raises(IncomparableMachineTypesError) as caught:
        compare_machine_types("pc-q35-noble", "pc-q35-stonking")
    assert "newer than the releases nova-hwabi knows" in str(caught.value)


@pytest.mark.parametrize(("existing", "new", "allowed"), [
    ("pc-q35-stonking", "pc-q35-stonking", True),
    ("q35", "pc-q35-stonking", True),
    ("ubuntu-q35", "pc-q35-stonking", True),
    ("pc-q35-noble", "pc-q35-stonking", False),
    ("pc-q35-stonking", "pc-q35-noble", False),
    ("pc-q35-stonking", "pc-i440fx-stonking", False),
])
def test_update_rules_for_a_newer_ubuntu_release(existing, new, allowed):
    if allowed:
        assert check_update(existing, new).name == new
    else:
        with pytest.raises(InvalidMachineTypeUpdate) as caught:
            check_update(existing, new)
        assert "--force" in str(caught.value)


# Junk stays junk, next to the names that look like it.
JUNK = [
    "pc-q35-5x2junk", "pc-q35-latest", "pc-q35-default", "pc-q35-ab",
    "pc-q35-stonking-v2", "pc-q35-noble-foo", "pc-1.0-kvm", "pc-2.0-foo",
    "pc-q35-7.2.", "pc-q35-7..2", "pc-q35-7.2-", "pc-q35-rhel9", "q35-7.2",
]


@pytest.mark.parametrize("name", JUNK)
def test_junk_is_still_refused(name):
    with pytest.raises(UnsupportedMachineType):
        parse_machine_type(name)


# -- properties over the grammar ---------------------------------------------

numbers = st.integers(min_value=0, max_value=9999)
upstream_versions = st.lists(numbers, min_size=2, max_size=3)
prefixes = st.sampled_from([
    ("pc-i440fx-", "i440fx"), ("pc-q35-", "q35"), ("virt-", "virt"),
    ("pseries-", "pseries"), ("s390-ccw-virtio-", "s390-ccw-virtio"),
])
codenames = st.from_regex(r"[a-z]{3,12}", fullmatch=True).filter(
    lambda word: word not in NOT_CODENAMES)


@given(prefixes, upstream_versions)
def test_any_upstream_version_parses_as_numbers(prefix, version):
    name = prefix[0] + ".".join(map(str, version))
    parsed = parse_machine_type(name)
    assert (parsed.family, parsed.variant, parsed.version) == (
        prefix[1], "upstream", tuple(version))


@given(prefixes, st.lists(numbers, min_size=3, max_size=3))
def test_any_rhel_version_parses(prefix, version):
    name = prefix[0] + "rhel" + ".".join(map(str, version))
    parsed = parse_machine_type(name)
    assert (parsed.family, parsed.variant, parsed.version) == (
        prefix[1], "rhel", tuple(version))


@given(prefixes, codenames)
def test_any_codename_parses_as_ubuntu(prefix, codename):
    parsed = parse_machine_type(prefix[0] + codename)
    assert (parsed.family, parsed.variant) == (prefix[1], "ubuntu")
    if codename in UBUNTU_RELEASES:
        assert parsed.version == UBUNTU_RELEASES[codename]
    else:
        assert (parsed.version, parsed.release) == (None, codename)


@given(prefixes, upstream_versions,
       st.from_regex(r"[a-z]+[0-9]+[a-z0-9]*", fullmatch=True))
def test_letters_and_digits_after_a_version_are_junk(prefix, version, tail):
    # pc-q35-5x2junk and its kind: a version glued to letters.
    name = "%s%d%s" % (prefix[0], version[0], tail)
    with pytest.raises(UnsupportedMachineType):
        parse_machine_type(name)


@given(st.text(max_size=40))
def test_any_text_parses_or_is_refused_with_a_reason(text):
    try:
        parsed = parse_machine_type(text)
    except UnsupportedMachineType as exc:
        assert str(exc)
    else:
        assert parsed.name == text
