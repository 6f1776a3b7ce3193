"""Host trait decisions: table-driven over sample hosts and policies."""

import dataclasses
import re

import pytest

from nova_hwabi import traits
from nova_hwabi.capabilities import (
    LibvirtVersion,
    TraitPolicy,
    host_traits,
    parse_host_capabilities,
)
from nova_hwabi.capabilities.samples import load_sample
from tests.conftest import (
    PASSTHROUGH_48_BITS,
    PASSTHROUGH_NO_BITS,
    capabilities_fixture,
)

# Placement's rule for custom trait names.
CUSTOM_TRAIT = re.compile(r"CUSTOM_[A-Z0-9_]+")
EMU = traits.ADDRESS_SPACE_EMULATED
PT = traits.ADDRESS_SPACE_PASSTHROUGH
HOST_MODEL = TraitPolicy(virt_type="kvm", cpu_mode="host-model")
PASSTHROUGH = TraitPolicy(virt_type="kvm", cpu_mode="host-passthrough")
QEMU_PASSTHROUGH = TraitPolicy(virt_type="qemu", cpu_mode="host-passthrough")
LXC = TraitPolicy(virt_type="lxc", cpu_mode="none")

# sample, libvirt version (None: the sample's own), policy,
# expected address-space traits, a word of the reason when one is missing.
CASES = [
    ("x86_64-kvm-debian12", None, HOST_MODEL, {EMU}, "cpu_mode"),
    ("x86_64-kvm-debian12", None, PASSTHROUGH, {EMU, PT}, None),
    ("x86_64-kvm-debian12", "8.6.0", PASSTHROUGH, set(), "older than 8.7.0"),
    ("x86_64-kvm-debian12", "8.7.0", PASSTHROUGH, {EMU, PT}, None),
    ("x86_64-kvm-debian12", None, QEMU_PASSTHROUGH, {EMU}, "needs KVM"),
    ("x86_64-kvm-debian12", None, LXC, set(), "not QEMU/KVM"),
    ("x86_64-passthrough-52bits", None, PASSTHROUGH, {EMU, PT}, None),
    # libvirt 8.0 predates maxphysaddr: nothing, whatever the policy.
    ("x86_64-no-maxphysaddr-libvirt8", None, PASSTHROUGH, set(), "older"),
    # No bits reported although libvirt is new enough.
    ("x86_64-no-maxphysaddr-libvirt8", "9.0.0", HOST_MODEL, set(),
     "no maxphysaddr bits"),
    ("aarch64-virt", None, PASSTHROUGH, set(), "x86 only"),
    ("s390x-ccw", None, HOST_MODEL, set(), "x86 only"),
    ("ppc64le-pseries", None, HOST_MODEL, set(), "x86 only"),
]


def _decide(name, version, policy):
    sample = load_sample(name)
    caps = parse_host_capabilities(sample.capabilities_xml)
    version = (
        LibvirtVersion.parse(version) if version else sample.libvirt_version
    )
    return host_traits(caps, version, policy)


@pytest.mark.parametrize(("name", "version", "policy", "expected", "why"),
                         CASES)
def test_address_space_traits(name, version, policy, expected, why):
    result = _decide(name, version, policy)
    assert result.traits == expected
    missing = [d for d in result.decisions[:2] if not d.reported]
    if why:
        assert any(why in d.reason for d in missing), missing
    else:
        assert not missing


# The written fixtures whose host <maxphysaddr> is mode='passthrough'
# (tests/fixtures/capabilities/); they carry no libvirt version, so each
# case gives one. The host's bits, whatever its mode, bound emulated
# guests; passthrough guests need KVM and cpu_mode host-passthrough only.
FIXTURE_CASES = [
    (PASSTHROUGH_48_BITS, "9.0.0", HOST_MODEL, {EMU}, "cpu_mode"),
    (PASSTHROUGH_48_BITS, "9.0.0", PASSTHROUGH, {EMU, PT}, None),
    (PASSTHROUGH_48_BITS, "8.6.0", PASSTHROUGH, set(), "older than 8.7.0"),
    (PASSTHROUGH_48_BITS, "8.7.0", QEMU_PASSTHROUGH, {EMU}, "needs KVM"),
    (PASSTHROUGH_48_BITS, "9.0.0", LXC, set(), "not QEMU/KVM"),
    (PASSTHROUGH_NO_BITS, "9.0.0", PASSTHROUGH, {PT},
     "no maxphysaddr bits"),
    (PASSTHROUGH_NO_BITS, "9.0.0", HOST_MODEL, set(),
     "no maxphysaddr bits"),
    (PASSTHROUGH_NO_BITS, "8.6.0", PASSTHROUGH, set(), "older than 8.7.0"),
]


def _decide_fixture(name, version, policy):
    caps = parse_host_capabilities(capabilities_fixture(name))
    return host_traits(caps, LibvirtVersion.parse(version), policy)


@pytest.mark.parametrize(
    ("name", "version", "policy", "expected", "why"), FIXTURE_CASES,
    ids=["%s-%s-%s/%s" % (name.removesuffix(".xml"), version,
                          policy.virt_type, policy.cpu_mode)
         for name, version, policy, _, _ in FIXTURE_CASES],
)
def test_address_space_traits_of_passthrough_hosts(name, version, policy,
                                                   expected, why):
    result = _decide_fixture(name, version, policy)
    assert result.traits == expected
    missing = [d for d in result.decisions[:2] if not d.reported]
    if why:
        assert any(why in d.reason for d in missing), missing
    else:
        assert not missing


@pytest.mark.parametrize(("name", "minimum", "widths", "why"), [
    (PASSTHROUGH_48_BITS, 32, range(32, 49), "17 widths, 32 to 48 bits"),
    (PASSTHROUGH_48_BITS, 48, range(48, 49), "1 widths, 48 to 48 bits"),
    (PASSTHROUGH_48_BITS, 49, range(0), "below bits_ladder_min 49"),
    (PASSTHROUGH_NO_BITS, 32, range(0), "no emulated address space"),
])
def test_bits_ladder_of_passthrough_hosts(name, minimum, widths, why):
    policy = dataclasses.replace(
        PASSTHROUGH, report_bits_ladder=True, bits_ladder_min=minimum
    )
    result = _decide_fixture(name, "9.0.0", policy)
    ladder = {t for t in result.traits if t.startswith("CUSTOM_HWABI_MAX")}
    assert ladder == {traits.bits_trait(bits) for bits in widths}
    assert result.decisions[2].reported == bool(widths)
    assert why in result.decisions[2].reason


def test_qemu_guest_without_kvm_domain_type_gets_no_trait():
    # s390x guests in the multi-arch capture are qemu-only; with the x86
    # host the kvm check is about the host arch, which does offer kvm.
    document = load_sample("x86_64-kvm-debian12").capabilities_xml.replace(
        b"<domain type='kvm'/>", b""
    )
    caps = parse_host_capabilities(document)
    result = host_traits(caps, LibvirtVersion(9, 0, 0), HOST_MODEL)
    assert result.traits == frozenset()
    assert "offer no kvm guest" in result.decisions[0].reason


@pytest.mark.parametrize(("name", "minimum", "widths"), [
    ("x86_64-kvm-debian12", 32, range(32, 47)),
    ("x86_64-kvm-debian12", 40, range(40, 47)),
    ("x86_64-numa4-39bits", 32, range(32, 40)),
    ("x86_64-numa4-39bits", 40, range(0)),
    ("x86_64-passthrough-52bits", 48, range(48, 53)),
    ("aarch64-virt", 32, range(0)),
])
def test_bits_ladder(name, minimum, widths):
    policy = dataclasses.replace(
        HOST_MODEL, report_bits_ladder=True, bits_ladder_min=minimum
    )
    result = _decide(name, None, policy)
    ladder = {t for t in result.traits if t.startswith("CUSTOM_HWABI_MAX")}
    assert ladder == {traits.bits_trait(bits) for bits in widths}
    assert result.decisions[2].reported == bool(widths)


def test_bits_ladder_is_off_by_default():
    result = _decide("x86_64-kvm-debian12", None, HOST_MODEL)
    assert not result.decisions[2].reported
    assert "report_bits_ladder is off" in result.decisions[2].reason


def test_machine_type_traits_for_host_arch_and_virt_type():
    policy = dataclasses.replace(HOST_MODEL, report_machine_type_traits=True)
    result = _decide("x86_64-numa4-39bits", None, policy)
    machines = {t for t in result.traits if t.startswith("CUSTOM_HWABI_MACH")}
    # The kvm domain of this sample has its own, shorter machine list.
    caps = parse_host_capabilities(
        load_sample("x86_64-numa4-39bits").capabilities_xml
    )
    kvm_machines = caps.guests_for("x86_64")[0].machines_for("kvm")
    assert machines == {
        traits.machine_type_trait("x86_64", m.name) for m in kvm_machines
    }
    assert traits.machine_type_trait("x86_64", "pc-q35-8.0") in machines
    assert all(CUSTOM_TRAIT.fullmatch(t) and len(t) <= 255 for t in machines)


def test_machine_type_traits_for_chosen_arches():
    policy = dataclasses.replace(
        TraitPolicy(virt_type="qemu"), report_machine_type_traits=True,
        machine_type_trait_arches=("aarch64", "s390x"),
    )
    result = _decide("x86_64-multiarch-debian12", None, policy)
    assert traits.machine_type_trait("aarch64", "virt-7.2") in result.traits
    assert traits.machine_type_trait(
        "s390x", "s390-ccw-virtio-7.2"
    ) in result.traits
    assert not any("X86_64" in t for t in result.traits)


@pytest.mark.parametrize(("arch", "machine", "trait"), [
    ("x86_64", "pc-q35-7.2", "CUSTOM_HWABI_MACHINE_X86_64_PC_Q35_7_2"),
    ("aarch64", "virt-rhel9.6.0",
     "CUSTOM_HWABI_MACHINE_AARCH64_VIRT_RHEL9_6_0"),
    ("x86_64", "q35", "CUSTOM_HWABI_MACHINE_X86_64_Q35"),
])
def test_trait_names_are_normalised(arch, machine, trait):
    assert traits.machine_type_trait(arch, machine) == trait
    assert traits.is_owned(trait)


def test_owned_traits():
    assert traits.is_owned(EMU) and traits.is_owned(PT)
    assert traits.is_owned(traits.bits_trait(46))
    assert not traits.is_owned("COMPUTE_STATUS_DISABLED")
    assert not traits.is_owned("CUSTOM_OPERATOR_GOLD")


# QEMU 7.2 on Debian 12 marks its oldest i440fx types deprecated.
DEBIAN12_DEPRECATED = ("pc-i440fx-1.4", "pc-i440fx-1.5", "pc-i440fx-1.6",
                       "pc-i440fx-1.7")


@pytest.mark.parametrize(("name", "opt_in", "expected"), [
    ("x86_64-kvm-debian12", True, DEBIAN12_DEPRECATED),
    ("x86_64-kvm-debian12", False, ()),
    # libvirt 8 sample without QEMU deprecation marks: none.
    ("x86_64-no-maxphysaddr-libvirt8", True, ()),
    ("aarch64-virt", True, ()),
])
def test_deprecated_machine_type_traits(name, opt_in, expected):
    policy = dataclasses.replace(HOST_MODEL,
                                 report_machine_type_traits=opt_in)
    result = _decide(name, None, policy)
    arch = parse_host_capabilities(
        load_sample(name).capabilities_xml).cpu.arch
    deprecated = {t for t in result.traits
                  if t.startswith(traits.DEPRECATED_MACHINE_TRAIT_PREFIX)}
    assert deprecated == {traits.deprecated_machine_type_trait(arch, m)
                          for m in expected}
    decision = result.decisions[-1]
    assert decision.reported is bool(expected)
    if opt_in and expected:
        # Still offered: the machine-type trait is reported as well.
        assert traits.machine_type_trait(arch, expected[0]) in result.traits
        assert "%d deprecated" % len(expected) in decision.reason
    elif not opt_in:
        assert "report_machine_type_traits is off" in decision.reason


def test_deprecated_trait_names_stay_apart_from_offers():
    trait = traits.deprecated_machine_type_trait("x86_64", "pc-i440fx-1.4")
    assert trait == "CUSTOM_HWABI_DEPRECATED_MACHINE_X86_64_PC_I440FX_1_4"
    assert not trait.startswith(traits.MACHINE_TRAIT_PREFIX)
    assert traits.is_owned(trait) and traits.is_owned_custom(trait)
