"""Machine type parsing, update rules, defaults and device properties."""

from types import SimpleNamespace

import pytest

from nova_hwabi.capabilities import parse_host_capabilities
from nova_hwabi.capabilities.samples import load_sample, sample_names
from nova_hwabi.conf import new_config
from nova_hwabi.machine_type import (
    DEVICE_PROPERTIES,
    IncomparableMachineTypesError,
    InvalidImageProperty,
    InvalidMachineTypeConfig,
    InvalidMachineTypeUpdate,
    MachineType,
    MachineTypeError,
    UnsupportedMachineType,
    allowed_image_property_values,
    check_image_property_name,
    check_update,
    compare_machine_types,
    configured_arches,
    default_machine_type,
    parse_machine_type,
    parse_machine_type_config,
    validate_image_property,
)

UP, RH, UB = "upstream", "rhel", "ubuntu"


def _assert_raises(error, fragment, function, *args):
    """``function(*args)`` raises ``error`` whose message has ``fragment``."""
    with pytest.raises(error) as caught:
        function(*args)
    assert fragment in str(caught.value)


# name -> family, variant, version, alias?, flavour. Every name is one a
# QEMU build really offers (upstream, RHEL/CentOS, Ubuntu).
REAL = [
    ("pc", "i440fx", None, None, True, ""),
    ("q35", "q35", None, None, True, ""),
    ("virt", "virt", None, None, True, ""),
    ("s390-ccw-virtio", "s390-ccw-virtio", None, None, True, ""),
    ("pseries", "pseries", None, None, True, ""),
    ("powernv", "powernv", None, None, True, ""),
    ("ubuntu", "i440fx", UB, None, True, ""),
    ("ubuntu-q35", "q35", UB, None, True, ""),
    ("pc-i440fx-7.2", "i440fx", UP, (7, 2), False, ""),
    ("pc-i440fx-2.12", "i440fx", UP, (2, 12), False, ""),
    ("pc-i440fx-1.4", "i440fx", UP, (1, 4), False, ""),
    ("pc-i440fx-10.0", "i440fx", UP, (10, 0), False, ""),
    ("pc-1.3", "i440fx", UP, (1, 3), False, ""),
    ("pc-0.15", "i440fx", UP, (0, 15), False, ""),
    ("pc-0.12", "i440fx", UP, (0, 12), False, ""),
    # qemu-kvm's and Ubuntu's forms of the same old types
    ("pc-1.0-qemu-kvm", "i440fx", UP, (1, 0), False, "qemu-kvm"),
    ("pc-1.3-qemu-kvm", "i440fx", UP, (1, 3), False, "qemu-kvm"),
    ("pc-1.0-precise", "i440fx", UP, (1, 0), False, "precise"),
    ("rhel5.4.0", "i440fx", RH, (5, 4, 0), False, ""),
    ("pc-q35-7.2", "q35", UP, (7, 2), False, ""),
    ("pc-q35-2.4", "q35", UP, (2, 4), False, ""),
    ("pc-q35-4.0.1", "q35", UP, (4, 0, 1), False, ""),
    ("pc-q35-4.0", "q35", UP, (4, 0), False, ""),
    ("pc-q35-9.2", "q35", UP, (9, 2), False, ""),
    ("pc-i440fx-rhel7.6.0", "i440fx", RH, (7, 6, 0), False, ""),
    ("pc-i440fx-rhel7.0.0", "i440fx", RH, (7, 0, 0), False, ""),
    ("rhel6.6.0", "i440fx", RH, (6, 6, 0), False, ""),
    ("rhel6.0.0", "i440fx", RH, (6, 0, 0), False, ""),
    ("pc-q35-rhel7.6.0", "q35", RH, (7, 6, 0), False, ""),
    ("pc-q35-rhel9.4.0", "q35", RH, (9, 4, 0), False, ""),
    ("pc-q35-rhel9.6.0", "q35", RH, (9, 6, 0), False, ""),
    ("pc-q35-rhel10.0.0", "q35", RH, (10, 0, 0), False, ""),
    ("virt-2.6", "virt", UP, (2, 6), False, ""),
    ("virt-7.2", "virt", UP, (7, 2), False, ""),
    ("virt-rhel7.3.0", "virt", RH, (7, 3, 0), False, ""),
    ("virt-rhel9.6.0", "virt", RH, (9, 6, 0), False, ""),
    ("s390-ccw-virtio-2.4", "s390-ccw-virtio", UP, (2, 4), False, ""),
    ("s390-ccw-virtio-7.2", "s390-ccw-virtio", UP, (7, 2), False, ""),
    ("s390-ccw-virtio-rhel9.4.0", "s390-ccw-virtio", RH, (9, 4, 0),
     False, ""),
    ("s390-ccw-virtio-rhel8.2.0", "s390-ccw-virtio", RH, (8, 2, 0),
     False, ""),
    ("s390-ccw-virtio-bionic", "s390-ccw-virtio", UB, (18, 4), False, ""),
    ("pseries-2.1", "pseries", UP, (2, 1), False, ""),
    ("pseries-7.2", "pseries", UP, (7, 2), False, ""),
    ("pseries-2.12-sxxm", "pseries", UP, (2, 12), False, "sxxm"),
    ("pseries-rhel9.4.0", "pseries", RH, (9, 4, 0), False, ""),
    ("pseries-rhel8.6.0", "pseries", RH, (8, 6, 0), False, ""),
    ("pseries-rhel7.5.0-sxxm", "pseries", RH, (7, 5, 0), False, "sxxm"),
    ("pseries-xenial", "pseries", UB, (16, 4), False, ""),
    ("pseries-bionic-2.11-sxxm", "pseries", UB, (18, 4), False,
     "2.11-sxxm"),
    ("pc-q35-jammy", "q35", UB, (22, 4), False, ""),
    ("pc-i440fx-jammy", "i440fx", UB, (22, 4), False, ""),
    ("pc-i440fx-xenial", "i440fx", UB, (16, 4), False, ""),
    ("pc-i440fx-trusty", "i440fx", UB, (14, 4), False, ""),
    ("pc-q35-artful", "q35", UB, (17, 10), False, ""),
    ("pc-q35-focal-hpb", "q35", UB, (20, 4), False, "hpb"),
    ("pc-i440fx-bionic-hpb", "i440fx", UB, (18, 4), False, "hpb"),
    ("pc-i440fx-jammy-hpb", "i440fx", UB, (22, 4), False, "hpb"),
    ("pc-q35-jammy-maxcpus", "q35", UB, (22, 4), False, "maxcpus"),
    ("pc-q35-mantic-hpb-maxcpus", "q35", UB, (23, 10), False,
     "hpb-maxcpus"),
    ("pc-q35-noble", "q35", UB, (24, 4), False, ""),
    ("pc-q35-noble-v2", "q35", UB, (24, 4, 2), False, ""),
    ("pc-i440fx-questing-v2", "i440fx", UB, (25, 10, 2), False, ""),
    ("pc-i440fx-resolute", "i440fx", UB, (26, 4), False, ""),
    ("pc-i440fx-plucky", "i440fx", UB, (25, 4), False, ""),
    ("virt-xenial", "virt", UB, (16, 4), False, ""),
    ("powernv8", "powernv", UP, None, False, "power8"),
    ("powernv9", "powernv", UP, None, False, "power9"),
    ("powernv10", "powernv", UP, None, False, "power10"),
    ("microvm", "microvm", UP, None, False, ""),
    ("isapc", "isapc", UP, None, False, ""),
    ("x-remote", "x-remote", UP, None, False, ""),
    ("none", "none", UP, None, False, ""),
    ("sbsa-ref", "sbsa-ref", UP, None, False, ""),
    ("raspi3b", "raspi3b", UP, None, False, ""),
    ("xlnx-versal-virt", "xlnx-versal-virt", UP, None, False, ""),
    ("virtex-ml507", "virtex-ml507", UP, None, False, ""),
    ("sifive_u", "sifive_u", UP, None, False, ""),
    ("40p", "40p", UP, None, False, ""),
    ("xenfv-4.2", "xenfv-4.2", UP, None, False, ""),
]


@pytest.mark.parametrize(
    ("name", "family", "variant", "version", "alias", "flavour"), REAL
)
def test_real_machine_types_parse(name, family, variant, version, alias,
                                  flavour):
    parsed = parse_machine_type(name)
    assert parsed == MachineType(name, family, variant, version, flavour,
                                 alias)
    assert parsed.is_versioned is (version is not None)
    assert str(parsed) == name
    assert name in parsed.describe()


@pytest.mark.parametrize(("name", "text"), [
    ("pc-q35-7.2", "pc-q35-7.2 (family q35, upstream 7.2)"),
    ("pc-q35-rhel10.0.0", "pc-q35-rhel10.0.0 (family q35, rhel 10.0.0)"),
    ("pc-q35-noble-v2", "pc-q35-noble-v2 (family q35, ubuntu 24.04-v2)"),
    ("pc-q35-jammy-hpb", "(family q35, ubuntu 22.04, flavour hpb)"),
    ("q35", "q35 (alias of the newest q35 type)"),
    ("ubuntu", "ubuntu (alias of the newest i440fx type of ubuntu)"),
    ("microvm", "microvm (family microvm)"),
])
def test_describe(name, text):
    assert text in parse_machine_type(name).describe()


# older, newer: versions compare as numbers, not strings.
ORDERED = [
    ("pc-q35-2.2", "pc-q35-2.12"),
    ("pc-i440fx-2.9", "pc-i440fx-2.10"),
    ("pc-q35-9.2", "pc-q35-10.0"),
    ("pc-q35-4.0", "pc-q35-4.0.1"),
    ("pc-q35-4.0.1", "pc-q35-4.1"),
    ("pc-q35-rhel9.6.0", "pc-q35-rhel10.0.0"),
    ("pc-q35-rhel9.4.0", "pc-q35-rhel9.6.0"),
    ("rhel6.6.0", "pc-i440fx-rhel7.0.0"),
    ("pc-1.3", "pc-i440fx-1.4"),
    ("pc-q35-focal", "pc-q35-jammy"),
    ("pc-q35-zesty", "pc-q35-artful"),
    ("pc-q35-noble", "pc-q35-noble-v2"),
    ("pc-q35-noble-v2", "pc-q35-oracular"),
    ("virt-rhel9.4.0", "virt-rhel9.6.0"),
    ("pseries-2.12", "pseries-7.2"),
    ("s390-ccw-virtio-2.9", "s390-ccw-virtio-2.10"),
]


@pytest.mark.parametrize(("older", "newer"), ORDERED)
def test_versions_order_as_numbers(older, newer):
    assert compare_machine_types(older, newer) == -1
    assert compare_machine_types(newer, older) == 1
    assert compare_machine_types(newer, newer) == 0
    assert parse_machine_type(older).version < parse_machine_type(
        newer).version


@pytest.mark.parametrize(("a", "b", "fragment"), [
    ("q35", "pc-q35-7.2", "q35 (alias of the newest q35 type) has no "
     "version"),
    ("pc-q35-7.2", "microvm", "microvm (family microvm) has no version"),
    ("pc-q35-7.2", "pc-i440fx-7.2", "different families or variants"),
    ("pc-q35-7.2", "pc-q35-rhel9.6.0", "different families or variants"),
    ("pc-q35-jammy", "pc-q35-6.2", "different families or variants"),
])
def test_incomparable_machine_types(a, b, fragment):
    _assert_raises(IncomparableMachineTypesError, fragment,
                   compare_machine_types, a, b)


# junk -> fragment of the message saying why.
JUNK = [
    ("pc-q35-5x2junk", "'5x2junk' is not a version"),
    ("pc-q35-", "no version after 'pc-q35-'; expected pc-q35-X.Y[.Z]"),
    ("pc-i440fx-", "or the alias pc"),
    ("pseries-", "or the alias pseries"),
    ("q35-7.2", "did you mean pc-q35-7.2?"),
    ("i440fx-7.2", "did you mean pc-i440fx-7.2?"),
    ("pc-i440fx-x.y", "'x.y' is not a version"),
    ("", "the machine type is empty"),
    ("pc q35", "contains whitespace"),
    (" q35", "contains whitespace"),
    ("q35\n", "contains whitespace"),
    ("pc-q35-" + "1" * 200, "207 characters, longer than any QEMU machine "
     "type"),
    ("x" * 65, "65 characters"),
    ("Q35", "lower case (try 'q35')"),
    ("pc-Q35-7.2", "lower case"),
    ("pc-q35-7.2;rm", "lower-case letters, digits"),
    ("pc/q35", "lower-case letters, digits"),
    ("pc-q35-7", "'7' is not a version"),
    ("pc-q35-07.2", "'07.2' is not a version"),
    ("pc-q35-7.2.1.1", "'7.2.1.1' is not a version"),
    ("pc-q35-99999.1", "'99999.1' is not a version"),
    ("pc-q35-rhel9.6", "'rhel9.6' is not a version"),
    ("pc-q35-rhel9.6.0.1", "'rhel9.6.0.1' is not a version"),
    ("pc-q35-latest", "or an Ubuntu release codename"),
    ("pc-q35-stonking-v2", "is not a version"),
    ("pc-q35-ab", "is not a version"),
    ("pc-q35-" + "a" * 13, "is not a version"),
    ("pc-i440fx-default", "is not a version"),
    ("pc-1.0-qemu", "the old i440fx form pc-X.Y"),
    ("pc-1.0-kvm-qemu", "the old i440fx form pc-X.Y"),
    ("pc-q35-7.2-hpb", "exist only on Ubuntu's types"),
    ("pc-q35-jammy-foo", "take only the suffixes -hpb and -maxcpus"),
    ("pc-q35-jammy-maxcpus-hpb", "take only the suffixes"),
    ("pc-q35-noble-v1", "take only the suffixes"),
    ("virt-7.2-sxxm", "upstream virt types take no suffix"),
    ("pseries-7.2-hpb", "take only the suffixes -sxxm"),
    ("pc-q35", "need a version (pc-q35-X.Y"),
    ("pc-i440fx", "the alias is pc"),
    ("pc-2.0-foo", "the old i440fx form pc-X.Y"),
    ("pc-", "the old i440fx form pc-X.Y"),
    ("rhel9", "rhelX.Y.Z"),
    ("powernvx", "powernv or powernvN"),
    ("ubuntu-pc", "Ubuntu's aliases are ubuntu and ubuntu-q35"),
    ("--", "joined by single"),
    ("micro..vm", "joined by single"),
    ("microvm-", "joined by single"),
    (None, "expected a string, got NoneType"),
    (7.2, "expected a string, got float"),
]


@pytest.mark.parametrize(("name", "fragment"), JUNK)
def test_junk_is_refused_with_the_reason(name, fragment):
    _assert_raises(UnsupportedMachineType, fragment, parse_machine_type,
                   name)


def test_errors_share_one_value_error_base():
    for error in (UnsupportedMachineType, IncomparableMachineTypesError,
                  InvalidMachineTypeUpdate, InvalidMachineTypeConfig,
                  InvalidImageProperty):
        assert issubclass(error, MachineTypeError)
    assert issubclass(MachineTypeError, ValueError)


def _sample_machines():
    """(sample, guest arch, Machine) for every machine of every sample."""
    rows = []
    for name in sample_names():
        caps = parse_host_capabilities(load_sample(name).capabilities_xml)
        for guest in caps.guests:
            machines = set(guest.machines)
            for domain in guest.domains:
                machines.update(domain.machines)
            rows.extend((name, guest.arch, machine) for machine in machines)
    return rows


SAMPLE_MACHINES = _sample_machines()


def test_samples_cover_the_four_main_architectures():
    arches = {arch for _, arch, _ in SAMPLE_MACHINES}
    assert {"x86_64", "aarch64", "s390x", "ppc64le"} <= arches
    assert len(SAMPLE_MACHINES) > 500


@pytest.mark.parametrize("sample", sample_names())
def test_every_sample_machine_parses(sample):
    machines = [(arch, m) for s, arch, m in SAMPLE_MACHINES if s == sample]
    assert machines
    for _arch, machine in machines:
        parsed = parse_machine_type(machine.name)
        assert parsed.is_alias is (machine.name in (
            "pc", "q35", "virt", "s390-ccw-virtio", "pseries", "powernv",
            "ubuntu", "ubuntu-q35",
        ))
        for prefix, family in (("pc-q35-", "q35"), ("pc-i440fx-", "i440fx"),
                               ("virt-", "virt"), ("pseries-", "pseries"),
                               ("s390-ccw-virtio-", "s390-ccw-virtio")):
            if machine.name.startswith(prefix):
                assert parsed.family == family
                assert parsed.is_versioned, machine.name


ALIASES_IN_SAMPLES = sorted({
    (machine.name, machine.canonical)
    for _, _, machine in SAMPLE_MACHINES if machine.is_alias
})


def test_samples_hold_the_aliases_we_check():
    assert {alias for alias, _ in ALIASES_IN_SAMPLES} == {
        "pc", "q35", "virt", "s390-ccw-virtio", "pseries", "powernv",
        "ubuntu", "ubuntu-q35",
    }


@pytest.mark.parametrize(("alias", "canonical"), ALIASES_IN_SAMPLES)
def test_alias_and_its_canonical_type_agree(alias, canonical):
    parsed_alias = parse_machine_type(alias)
    parsed_canonical = parse_machine_type(canonical)
    assert parsed_alias.is_alias and not parsed_canonical.is_alias
    assert parsed_alias.family == parsed_canonical.family
    # A generic alias's variant is the host's build (None); Ubuntu's own
    # aliases must resolve to Ubuntu types.
    assert parsed_alias.variant in (None, parsed_canonical.variant)
    # Pinning the alias to what it resolves to is always allowed.
    assert check_update(alias, canonical) == parsed_canonical


def test_ubuntu_aliases_resolve_to_ubuntu_types_in_the_samples():
    ubuntu = dict(ALIASES_IN_SAMPLES)
    assert parse_machine_type(ubuntu["ubuntu-q35"]).variant == "ubuntu"
    assert parse_machine_type(ubuntu["ubuntu"]).variant == "ubuntu"


# existing, new, None when allowed else a fragment of the refusal.
UPDATES = [
    (None, "q35", None),
    (None, "pc-q35-7.2", None),
    ("", "pc", None),
    ("q35", "q35", None),
    ("pc-q35-7.2", "pc-q35-7.2", None),
    ("microvm", "microvm", None),
    ("pc-q35-6.2", "pc-q35-7.2", None),
    ("pc-q35-2.2", "pc-q35-2.12", None),
    ("pc-q35-4.0", "pc-q35-4.0.1", None),
    ("pc-q35-rhel9.6.0", "pc-q35-rhel10.0.0", None),
    ("pc-q35-focal", "pc-q35-jammy", None),
    ("pc-q35-noble", "pc-q35-noble-v2", None),
    ("pc-q35-focal-hpb", "pc-q35-jammy-hpb", None),
    ("pc-1.3", "pc-i440fx-2.0", None),
    ("q35", "pc-q35-7.2", None),
    ("q35", "pc-q35-rhel9.6.0", None),
    ("q35", "pc-q35-noble", None),
    ("pc", "pc-i440fx-7.2", None),
    ("ubuntu-q35", "pc-q35-jammy", None),
    ("virt", "virt-rhel9.6.0", None),
    ("powernv", "powernv9", None),
    ("pc-q35-7.2", "pc-q35-6.2", "it is a downgrade (pc-q35-6.2 is older "
     "than pc-q35-7.2)"),
    ("pc-q35-2.12", "pc-q35-2.2", "downgrade"),
    ("pc-q35-rhel10.0.0", "pc-q35-rhel9.6.0", "downgrade"),
    ("pc-q35-jammy", "pc-q35-focal", "downgrade"),
    ("pc-q35-4.0.1", "pc-q35-4.0", "downgrade"),
    ("pc", "q35", "changes the machine family from i440fx to q35"),
    ("pc-i440fx-7.2", "pc-q35-7.2", "from i440fx to q35"),
    ("q35", "pc-i440fx-7.2", "from q35 to i440fx"),
    ("microvm", "isapc", "from microvm to isapc"),
    ("virt-7.2", "pc-q35-7.2", "from virt to q35"),
    ("pc-q35-7.2", "pc-q35-rhel9.6.0", "changes the distribution variant "
     "from upstream to rhel"),
    ("pc-q35-jammy", "pc-q35-8.2", "from ubuntu to upstream"),
    ("ubuntu-q35", "pc-q35-6.2", "the alias ubuntu-q35 resolves to ubuntu "
     "types only"),
    ("pc-q35-jammy", "pc-q35-jammy-hpb", "changes the flavour from none to "
     "hpb"),
    ("pseries-2.12-sxxm", "pseries-7.2", "from sxxm to none"),
    ("powernv8", "powernv9", "from power8 to power9"),
    ("pc-q35-7.2", "q35", "it unpins the instance: the alias q35"),
    ("pc-i440fx-jammy", "ubuntu", "unpins"),
    ("q35", "ubuntu-q35", "both are aliases"),
    ("pc-q35-5x2junk", "pc-q35-7.2", "the recorded machine type cannot be "
     "checked against pc-q35-7.2"),
]


@pytest.mark.parametrize(("existing", "new", "refusal"), UPDATES)
def test_check_update(existing, new, refusal):
    if refusal is None:
        assert check_update(existing, new) == parse_machine_type(new)
        return
    with pytest.raises(InvalidMachineTypeUpdate) as caught:
        check_update(existing, new)
    message = str(caught.value)
    assert refusal in message
    assert "--force" in message
    assert "from %s to %s" % (existing, new) in message or (
        "cannot be checked" in message)


def test_check_update_takes_parsed_machine_types():
    old, new = parse_machine_type("q35"), parse_machine_type("pc-q35-7.2")
    assert check_update(old, new) is new


@pytest.mark.parametrize("new", ["pc-q35-5x2junk", "", "q35-7.2"])
def test_check_update_never_accepts_junk(new):
    # Not an InvalidMachineTypeUpdate: --force must not let junk through.
    with pytest.raises(UnsupportedMachineType):
        check_update("q35", new)
    with pytest.raises(UnsupportedMachineType):
        check_update(None, new)


def _conf(value):
    return SimpleNamespace(libvirt=SimpleNamespace(hw_machine_type=value))


# [libvirt] hw_machine_type, arch -> the default machine type.
DEFAULTS = [
    (None, "x86_64", "pc"),
    (None, "i686", "pc"),
    (None, "aarch64", "virt"),
    (None, "armv7l", "virt"),
    (None, "s390x", "s390-ccw-virtio"),
    (None, "s390", "s390-ccw-virtio"),
    (None, "ppc64le", "pseries"),
    (None, "ppc64", None),
    (None, "sparc", None),
    ([], "x86_64", "pc"),
    (["x86_64=q35"], "x86_64", "q35"),
    (["x86_64=q35"], "i686", "pc"),
    (["x86_64=q35"], "aarch64", "virt"),
    (["x86_64=pc-q35-7.2", "aarch64=virt-7.2"], "aarch64", "virt-7.2"),
    (["x86_64=pc-q35-7.2", "aarch64=virt-7.2"], "x86_64", "pc-q35-7.2"),
    (["s390x=s390-ccw-virtio-rhel9.4.0"], "s390x",
     "s390-ccw-virtio-rhel9.4.0"),
    (["ppc64le=pseries-rhel9.4.0"], "ppc64le", "pseries-rhel9.4.0"),
    (["x86_64=microvm"], "x86_64", "microvm"),
    (["sparc64=sun4u"], "sparc64", "sun4u"),
    ("x86_64=q35,aarch64=virt", "x86_64", "q35"),
    ("", "x86_64", "pc"),
]


@pytest.mark.parametrize(("value", "arch", "expected"), DEFAULTS)
def test_default_machine_type(value, arch, expected):
    assert default_machine_type(arch, _conf(value)) == expected


# malformed entries -> fragment; the entry is always named.
BAD_CONFIG = [
    (["q35"], "'q35'", "no architecture"),
    (["x86_64="], "'x86_64='", "no machine type after '='"),
    (["=q35"], "'=q35'", "no architecture before '='"),
    ([""], "''", "empty entry (a stray comma?)"),
    (["x86_64=pc-q35-5x2junk"], "'x86_64=pc-q35-5x2junk'",
     "'5x2junk' is not a version"),
    (["x86_64=q35=pc"], "'x86_64=q35=pc'", "lower-case letters, digits"),
    (["x86_64=raspi3b"], "'x86_64=raspi3b'", "a machine of aarch64"),
    (["aarch64=isapc"], "'aarch64=isapc'", "not of aarch64"),
    (["x86_64 = q35"], "'x86_64 = q35'", "spaces around '='"),
    (["amd64=q35"], "'amd64=q35'", "unknown architecture 'amd64' (Nova "
     "calls it x86_64)"),
    (["riscv=virt"], "'riscv=virt'", "unknown architecture 'riscv'; Nova's "
     "are alpha"),
    (["x86_64=q35", "x86_64=pc"], "'x86_64=pc'", "x86_64 is already set to "
     "q35"),
    (["x86_64=virt"], "'x86_64=virt'", "virt belongs to the virt family, "
     "which x86_64 guests cannot run (they run i440fx or q35)"),
    (["aarch64=pc-q35-7.2"], "'aarch64=pc-q35-7.2'", "cannot run"),
    (["s390x=pseries"], "'s390x=pseries'", "cannot run"),
    (["ppc64le=s390-ccw-virtio"], "'ppc64le=s390-ccw-virtio'",
     "cannot run"),
    # A bad entry for another architecture is still reported.
    (["x86_64=q35", "aarch64=bogus!"], "'aarch64=bogus!'", "unsupported "
     "machine type"),
    ([42], "'42'", "not a string"),
]


@pytest.mark.parametrize(("value", "entry", "fragment"), BAD_CONFIG)
def test_malformed_hw_machine_type_is_reported(value, entry, fragment):
    with pytest.raises(InvalidMachineTypeConfig) as caught:
        default_machine_type("x86_64", _conf(value))
    message = str(caught.value)
    assert message.startswith("[libvirt] hw_machine_type entry %s:" % entry)
    assert "expected a comma-separated list of ARCH=MACHINE_TYPE" in message
    assert fragment in message


@pytest.mark.parametrize(("value", "arches"), [
    (None, ()),
    ([], ()),
    (["x86_64=q35"], ("x86_64",)),
    (["x86_64=q35", "aarch64=virt", "s390x=s390-ccw-virtio"],
     ("x86_64", "aarch64", "s390x")),
])
def test_configured_arches(value, arches):
    assert configured_arches(_conf(value)) == arches


def test_configured_arches_reports_malformed_entries():
    _assert_raises(InvalidMachineTypeConfig, "entry 'q35': no architecture",
                   configured_arches, _conf(["x86_64=pc", "q35"]))


def test_parse_machine_type_config_maps_every_arch():
    mapping = parse_machine_type_config(["x86_64=q35", "aarch64=virt-7.2"])
    assert {arch: m.name for arch, m in mapping.items()} == {
        "x86_64": "q35", "aarch64": "virt-7.2",
    }
    assert parse_machine_type_config(None) == {}


@pytest.mark.parametrize(("text", "arch", "expected"), [
    (None, "x86_64", "pc"),
    ("x86_64=q35, aarch64=virt", "aarch64", "virt"),
    ("x86_64=q35,", "x86_64", "q35"),
])
def test_default_machine_type_with_oslo_config(tmp_path, text, arch,
                                               expected):
    conf = new_config()
    files = []
    if text is not None:
        path = tmp_path / "nova.conf"
        path.write_text("[libvirt]\nhw_machine_type = %s\n" % text)
        files.append(str(path))
    conf([], default_config_files=files)
    assert default_machine_type(arch, conf) == expected


def test_malformed_oslo_config_is_reported(tmp_path):
    path = tmp_path / "nova.conf"
    path.write_text("[libvirt]\nhw_machine_type = ,x86_64=q35\n")
    conf = new_config()
    conf([], default_config_files=[str(path)])
    _assert_raises(InvalidMachineTypeConfig, "entry '': empty entry",
                   default_machine_type, "x86_64", conf)


NAMES = tuple(DEVICE_PROPERTIES)
DISK = ("fdc", "ide", "sata", "scsi", "usb", "virtio", "xen", "lxc", "uml")

# Every value Nova 34 accepts, per property.
NOVA_VALUES = {
    "hw_cdrom_bus": DISK,
    "hw_disk_bus": DISK,
    "hw_floppy_bus": DISK,
    "hw_rescue_bus": DISK,
    "hw_input_bus": ("usb", "virtio"),
    "hw_pointer_model": ("usbtablet",),
    "hw_rng_model": ("virtio",),
    "hw_scsi_model": ("buslogic", "ibmvscsi", "lsilogic", "lsisas1068",
                      "lsisas1078", "virtio-scsi", "vmpvscsi"),
    "hw_video_model": ("cirrus", "qxl", "vga", "vmvga", "xen", "virtio",
                       "gop", "none", "bochs"),
    "hw_vif_model": ("virtio", "ne2k_pci", "pcnet", "rtl8139", "e1000",
                     "e1000e", "netfront", "spapr-vlan", "lan9118", "sriov",
                     "vmxnet", "vmxnet3", "igb"),
}


def test_the_ten_device_properties():
    assert set(NAMES) == set(NOVA_VALUES)
    assert len(NAMES) == 10


@pytest.mark.parametrize(("name", "value"), [
    (name, value) for name, values in NOVA_VALUES.items()
    for value in values
])
def test_every_nova_value_is_accepted_without_machine_type(name, value):
    assert validate_image_property(name, value) == value
    assert validate_image_property(name, " %s " % value.upper()) == value


@pytest.mark.parametrize("name", NAMES)
def test_allowed_values_without_machine_type_are_novas(name):
    assert allowed_image_property_values(name) == NOVA_VALUES[name]


@pytest.mark.parametrize(("value", "expected"), [
    ("VirtualE1000", "e1000"),
    ("virtuale1000e", "e1000e"),
    ("VirtualPCNet32", "pcnet"),
    ("VirtualSriovEthernetCard", "sriov"),
    ("VirtualVmxnet", "vmxnet"),
    ("VirtualVmxnet3", "vmxnet3"),
])
def test_legacy_vif_models_are_mapped_as_nova_maps_them(value, expected):
    assert validate_image_property("hw_vif_model", value) == expected


# name, value -> fragment.
BAD_VALUES = [
    ("hw_disk_bus", "floppy", "hw_disk_bus='floppy': Nova knows no such disk "
     "bus; expected one of fdc, ide"),
    ("hw_cdrom_bus", "nvme", "no such disk bus"),
    ("hw_floppy_bus", "isa", "no such disk bus"),
    ("hw_rescue_bus", "virtio-blk", "no such disk bus"),
    ("hw_input_bus", "ps2", "Nova knows no such input bus"),
    ("hw_pointer_model", "ps2mouse", "no such pointer model; expected "
     "one of usbtablet"),
    ("hw_rng_model", "egd", "no such RNG model"),
    ("hw_scsi_model", "virtio", "no such SCSI model"),
    ("hw_video_model", "ramfb", "Nova knows no such video model"),
    ("hw_vif_model", "virtio-net", "no such VIF model"),
    ("hw_vif_model", "VirtualE1000x", "no such VIF model"),
    ("hw_disk_bus", "", "expected one of"),
    ("hw_disk_bus", "   ", "expected one of"),
    ("hw_disk_bus", None, "unset it with nova-hwabi-manage image-property "
     "unset"),
    ("hw_disk_bus", 3, "expected one of"),
    ("hw_disk_bus", "virtio,ide", "no such disk bus"),
]


@pytest.mark.parametrize(("name", "value", "fragment"), BAD_VALUES)
def test_values_outside_novas_enumerations(name, value, fragment):
    with pytest.raises(InvalidImageProperty) as caught:
        validate_image_property(name, value)
    assert fragment in str(caught.value)
    assert caught.value.kind == "value"


@pytest.mark.parametrize(("name", "fragment"), [
    ("hw_machine_type", "hw_machine_type is not a device bus/model "
     "property: change an instance's machine type with nova-hwabi-manage "
     "machine-type update"),
    ("hw_maxphysaddr_bits", "'hw_maxphysaddr_bits' cannot be set on an "
     "instance: only the device bus/model properties hw_cdrom_bus"),
    ("hw_cpu_policy", "cannot be set on an instance"),
    ("img_config_drive", "cannot be set"),
    ("os_distro", "cannot be set"),
    ("hw_disk_bus ", "cannot be set"),
    ("HW_DISK_BUS", "cannot be set"),
    ("image_hw_disk_bus", "drop the image_ prefix: hw_disk_bus"),
    ("", "cannot be set"),
    (None, "cannot be set"),
])
def test_other_property_names_are_refused(name, fragment):
    for function, args in ((validate_image_property, (name, "virtio")),
                           (allowed_image_property_values, (name,)),
                           (check_image_property_name, (name,))):
        with pytest.raises(InvalidImageProperty) as caught:
            function(*args)
        assert fragment in str(caught.value)
        assert caught.value.kind == "name"


@pytest.mark.parametrize("name", NAMES)
def test_check_image_property_name_accepts_the_ten(name):
    assert check_image_property_name(name) == name


# name, value, machine type -> None when allowed, else a fragment.
CONSTRAINTS = [
    ("hw_disk_bus", "ide", "pc", None),
    ("hw_cdrom_bus", "ide", "pc-i440fx-7.2", None),
    ("hw_cdrom_bus", "ide", "pc-i440fx-rhel7.6.0", None),
    ("hw_cdrom_bus", "ide", "ubuntu", None),
    ("hw_cdrom_bus", "ide", "q35", "has no IDE controller"),
    ("hw_cdrom_bus", "ide", "pc-q35-7.2", "use sata on q35"),
    ("hw_disk_bus", "ide", "pc-q35-rhel10.0.0", "no IDE controller"),
    ("hw_rescue_bus", "ide", "ubuntu-q35", "no IDE controller"),
    ("hw_cdrom_bus", "ide", "virt", "no IDE controller"),
    ("hw_cdrom_bus", "ide", "s390-ccw-virtio", "no IDE controller"),
    ("hw_cdrom_bus", "ide", "pseries-rhel9.4.0", "no IDE controller"),
    ("hw_cdrom_bus", "sata", "q35", None),
    ("hw_cdrom_bus", "sata", "pc", None),
    ("hw_cdrom_bus", "scsi", "virt", None),
    ("hw_cdrom_bus", "sata", "virt", None),
    ("hw_floppy_bus", "fdc", "pc", None),
    ("hw_floppy_bus", "fdc", "q35", None),
    ("hw_floppy_bus", "fdc", "virt-7.2", "no floppy controller"),
    ("hw_floppy_bus", "fdc", "pseries", "no floppy controller"),
    ("hw_floppy_bus", "fdc", "s390-ccw-virtio-7.2", "no floppy controller"),
    ("hw_disk_bus", "sata", "s390-ccw-virtio", "no AHCI or USB controller"),
    ("hw_disk_bus", "usb", "s390-ccw-virtio", "no AHCI or USB controller"),
    ("hw_disk_bus", "virtio", "s390-ccw-virtio", None),
    ("hw_disk_bus", "scsi", "s390-ccw-virtio", None),
    ("hw_disk_bus", "xen", "pc", "only virtio, scsi, ide, usb, fdc or sata"),
    ("hw_disk_bus", "uml", "q35", "only virtio, scsi"),
    ("hw_disk_bus", "lxc", "microvm", "only virtio, scsi"),
    ("hw_input_bus", "usb", "s390-ccw-virtio", "no USB controller"),
    ("hw_input_bus", "virtio", "s390-ccw-virtio", None),
    ("hw_input_bus", "usb", "q35", None),
    ("hw_pointer_model", "usbtablet", "s390-ccw-virtio", "no USB"),
    ("hw_pointer_model", "usbtablet", "pc", None),
    ("hw_rng_model", "virtio", "s390-ccw-virtio", None),
    ("hw_video_model", "vga", "s390-ccw-virtio", "no VGA-type display"),
    ("hw_video_model", "cirrus", "s390-ccw-virtio-rhel9.4.0", "no VGA"),
    ("hw_video_model", "qxl", "s390-ccw-virtio", "no VGA"),
    ("hw_video_model", "bochs", "s390-ccw-virtio", "no VGA"),
    ("hw_video_model", "virtio", "s390-ccw-virtio", None),
    ("hw_video_model", "none", "s390-ccw-virtio", None),
    ("hw_video_model", "vga", "q35", None),
    ("hw_video_model", "qxl", "pc", None),
    ("hw_video_model", "xen", "q35", "has no such video model"),
    ("hw_video_model", "gop", "virt", "has no such video model"),
    ("hw_vif_model", "e1000", "s390-ccw-virtio", "only virtio network"),
    ("hw_vif_model", "virtio", "s390-ccw-virtio", None),
    ("hw_vif_model", "e1000", "q35", None),
    ("hw_vif_model", "spapr-vlan", "pseries", None),
    ("hw_vif_model", "spapr-vlan", "pc-q35-7.2", "only on pseries"),
    ("hw_vif_model", "netfront", "pc", "does not offer this model"),
    ("hw_vif_model", "sriov", "q35", "does not offer this model"),
    ("hw_vif_model", "vmxnet", "q35", "does not offer this model"),
    ("hw_vif_model", "VirtualVmxnet3", "q35", None),
    ("hw_scsi_model", "ibmvscsi", "pseries-7.2", None),
    ("hw_scsi_model", "ibmvscsi", "q35", "sPAPR VIO device, found only on "
     "pseries"),
    ("hw_scsi_model", "ibmvscsi", "virt", "only on pseries"),
    ("hw_scsi_model", "buslogic", "pc", "has no BusLogic controller"),
    ("hw_scsi_model", "virtio-scsi", "s390-ccw-virtio", None),
    ("hw_scsi_model", "lsilogic", "s390-ccw-virtio", "only virtio-scsi"),
    ("hw_scsi_model", "lsilogic", "q35", None),
]


@pytest.mark.parametrize(("name", "value", "machine_type", "refusal"),
                         CONSTRAINTS)
def test_machine_type_constraints(name, value, machine_type, refusal):
    if refusal is None:
        assert validate_image_property(name, value, machine_type) == \
            validate_image_property(name, value)
        assert validate_image_property(name, value) in \
            allowed_image_property_values(name, machine_type)
        return
    with pytest.raises(InvalidImageProperty) as caught:
        validate_image_property(name, value, parse_machine_type(
            machine_type))
    message = str(caught.value)
    assert caught.value.kind == "value"
    assert refusal in message
    assert "cannot be used with machine type %s" % machine_type in message
    allowed = allowed_image_property_values(name, machine_type)
    assert value not in allowed
    assert "choose one of %s" % ", ".join(allowed) in message


@pytest.mark.parametrize(("name", "machine_type", "expected"), [
    ("hw_cdrom_bus", "q35", ("fdc", "sata", "scsi", "usb", "virtio")),
    ("hw_cdrom_bus", "s390-ccw-virtio", ("scsi", "virtio")),
    ("hw_video_model", "s390-ccw-virtio", ("virtio", "none")),
    ("hw_vif_model", "s390-ccw-virtio", ("virtio",)),
    ("hw_pointer_model", "s390-ccw-virtio", ()),
    ("hw_scsi_model", "pseries", ("ibmvscsi", "lsilogic", "lsisas1068",
                                  "lsisas1078", "virtio-scsi", "vmpvscsi")),
])
def test_allowed_values_for_a_machine_type(name, machine_type, expected):
    assert allowed_image_property_values(name, machine_type) == expected


def test_pointer_on_s390_says_nothing_is_allowed():
    _assert_raises(InvalidImageProperty, "choose one of (none)",
                   validate_image_property, "hw_pointer_model", "usbtablet",
                   "s390-ccw-virtio")


def test_a_junk_machine_type_is_not_silently_ignored():
    _assert_raises(UnsupportedMachineType, "'5x2junk' is not a version",
                   validate_image_property, "hw_disk_bus", "ide",
                   "pc-q35-5x2junk")
