"""Values an instance cannot have: machine types and devices of other arches.

QEMU's documented machine lists per architecture (nova_hwabi.machine_type.
arches) are checked against the Debian 12 capture with every QEMU system
emulator (20 guest architectures, 609 machine types), and against the
aarch64 domain capabilities for device models.
"""

import pytest

from nova_hwabi.capabilities import (
    parse_domain_capabilities,
    parse_host_capabilities,
)
from nova_hwabi.capabilities.samples import load_sample
from nova_hwabi.machine_type import arches, devices, updates
from nova_hwabi.machine_type.arches import (
    MachineTypeArchError,
    check_machine_type_arch,
    documented_arches,
)

MULTIARCH = parse_host_capabilities(
    load_sample("x86_64-multiarch-debian12").capabilities_xml)
# libvirt's architecture names that are not Nova's.
NOVA_ARCH = {"armv6l": "armv6"}


def _listed():
    """(Nova arch, machine name) for every machine the capture lists."""
    pairs = set()
    for guest in MULTIARCH.guests:
        arch = NOVA_ARCH.get(guest.arch, guest.arch)
        for machine in guest.machines:
            pairs.add((arch, machine.name))
            if machine.canonical:
                pairs.add((arch, machine.canonical))
    return sorted(pairs)


LISTED = _listed()


def test_the_capture_is_the_one_with_every_emulator():
    assert len({arch for arch, _ in LISTED}) == 20
    assert sum(len(g.machines) for g in MULTIARCH.guests) == 609


@pytest.mark.parametrize(("arch", "machine"), LISTED)
def test_every_machine_a_host_lists_is_documented_for_its_arch(arch,
                                                               machine):
    assert arch in documented_arches(machine)
    assert check_machine_type_arch(machine, arch)


def test_tables_cover_the_capture_without_leaking_across_arches():
    # A machine the capture lists only for some arches must not be
    # documented for another arch the capture also has.
    captured = {arch for arch, _ in LISTED}
    by_machine = {}
    for arch, machine in LISTED:
        by_machine.setdefault(machine, set()).add(arch)
    for machine, listed_for in by_machine.items():
        leaked = (set(documented_arches(machine)) & captured) - listed_for
        assert not leaked, (machine, leaked)


# The named values: machine type, instance arch, kind of refusal.
REFUSED = [
    ("raspi3b", "x86_64", "it is a machine of aarch64"),
    ("sbsa-ref", "x86_64", "it is a machine of aarch64"),
    ("virt-7.2", "x86_64", "not of x86_64"),
    ("s390-ccw-virtio-7.2", "x86_64", "machine of s390, s390x"),
    ("pseries-7.2", "x86_64", "machine of ppc64, ppc64le"),
    ("powernv9", "aarch64", "machine of ppc64, ppc64le"),
    ("pc-q35-7.2", "aarch64", "machine of i686, x86_64"),
    ("pc-i440fx-rhel7.6.0", "ppc64le", "machine of i686, x86_64"),
    ("microvm", "s390x", "machine of i686, x86_64"),
    ("raspi3b", "armv7l", "it is a machine of aarch64"),
    ("clipper", "x86_64", "it is a machine of alpha"),
]


@pytest.mark.parametrize(("machine", "arch", "why"), REFUSED)
def test_machine_types_of_other_arches_are_refused(machine, arch, why):
    with pytest.raises(MachineTypeArchError) as caught:
        check_machine_type_arch(machine, arch)
    assert why in str(caught.value)
    assert "use --force" in str(caught.value)
    # An update refusal, which --force may override (exit code 4).
    assert isinstance(caught.value, updates.InvalidMachineTypeUpdate)


# machine type, arch, what hosts report (None: nothing), refusal or None
WITH_HOSTS = [
    ("pc-q35-7.2", "x86_64", None, None),
    ("pc-q35-7.2", "x86_64", {"pc-q35-7.2"}, None),
    ("pc-q35-9.2", "x86_64", {"pc-q35-7.2"}, "no compute host reporting"),
    # In no documented list and no host offers it (Placement not asked,
    # or asked and silent): a typo until a host says otherwise.
    ("newboard", "aarch64", None, "none of QEMU's documented machine lists"),
    ("newboard", "aarch64", {"virt-7.2"}, "no compute host reports"),
    ("newboard", "aarch64", {"newboard"}, None),
    ("q53", "x86_64", None, "check the spelling"),
    ("bogus-type", "x86_64", None, "check the spelling"),
    ("bogus-type", "x86_64", set(), "check the spelling"),
    # A version QEMU's numbering cannot give (x.0 to x.2 since 3.0).
    ("pc-q35-7.22", "x86_64", None, "none of QEMU's documented"),
    ("pc-i440fx-8.3", "x86_64", None, "none of QEMU's documented"),
    ("pc-q35-2.13", "x86_64", None, "none of QEMU's documented"),
    ("virt-9.5", "aarch64", None, "none of QEMU's documented"),
    ("pseries-7.3", "ppc64le", None, "none of QEMU's documented"),
    # ... unless a host offers it after all.
    ("pc-q35-7.22", "x86_64", {"pc-q35-7.22"}, None),
    # Real versions of every era stay documented.
    ("pc-q35-10.1", "x86_64", None, None),
    ("pc-q35-2.12", "x86_64", None, None),
    ("pc-i440fx-1.7", "x86_64", None, None),
    ("pc-i440fx-4.0.1", "x86_64", None, None),
    ("pc-0.15", "x86_64", None, None),
    ("pc-q35-rhel9.6.0", "x86_64", None, None),
    ("pc-q35-noble", "x86_64", None, None),
    # A host's word wins over the table.
    ("raspi3b", "x86_64", {"raspi3b"}, None),
]


@pytest.mark.parametrize(("machine", "arch", "offered", "why"), WITH_HOSTS)
def test_what_hosts_report_decides(machine, arch, offered, why):
    if why is None:
        assert check_machine_type_arch(machine, arch, offered)
    else:
        with pytest.raises(MachineTypeArchError, match=why):
            check_machine_type_arch(machine, arch, offered)


@pytest.mark.parametrize(("carried", "expected"), [
    ({"CUSTOM_HWABI_MACHINE_X86_64_PC_Q35_7_2"}, {"pc-q35-7.2"}),
    ({"CUSTOM_HWABI_MACHINE_X86_64_PC_I440FX_7_2"}, set()),
    ({"CUSTOM_HWABI_MACHINE_AARCH64_VIRT_7_2"}, None),
    (set(), None),
])
def test_offered_from_traits(carried, expected):
    assert arches.offered_from_traits(
        carried, "x86_64", ["pc-q35-7.2"]) == expected


# Device models of other architectures' machines, with the evidence.
AARCH64_VIRT = parse_domain_capabilities(
    load_sample("aarch64-virt").domain_capabilities_xml)


@pytest.mark.parametrize("model", ["cirrus", "qxl", "vmvga"])
def test_x86_display_devices_are_refused_on_virt(model):
    # The aarch64 virt domain capabilities do not offer them...
    assert model not in AARCH64_VIRT.device_values("video", "modelType")
    # ...so neither does the rule, while x86 machines keep them.
    with pytest.raises(devices.InvalidImageProperty) as caught:
        devices.validate_image_property("hw_video_model", model, "virt-7.2")
    assert "x86 PC devices" in str(caught.value)
    assert devices.validate_image_property("hw_video_model", model,
                                         "pc-q35-7.2") == model


def test_virt_keeps_the_display_devices_its_host_offers():
    offered = set(AARCH64_VIRT.device_values("video", "modelType"))
    allowed = set(devices.allowed_image_property_values("hw_video_model",
                                                      "virt-7.2"))
    assert allowed == set(devices.VIDEO_MODELS) & offered
