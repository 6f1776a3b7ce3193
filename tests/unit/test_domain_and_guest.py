"""parse_domain_capabilities and parse_guest_domain on captured XML."""

import pytest

from nova_hwabi.capabilities import (
    CapabilitiesError,
    MaxPhysAddr,
    parse_domain_capabilities,
    parse_guest_domain,
)
from nova_hwabi.capabilities.samples import load_sample
from tests.conftest import DOMAINS


def test_captured_domain_capabilities():
    caps = parse_domain_capabilities(
        load_sample("x86_64-kvm-debian12").domain_capabilities_xml
    )
    assert (caps.arch, caps.domain_type, caps.machine) == (
        "x86_64", "kvm", "pc-q35-7.2"
    )
    assert caps.path == "/usr/bin/qemu-system-x86_64"
    assert caps.max_vcpus == 288
    assert caps.cpu_modes == {
        "host-passthrough", "maximum", "host-model", "custom"
    }
    assert caps.host_model.model == "Cascadelake-Server"
    assert "ss" in caps.host_model.required_features
    assert "pdpe1gb" in caps.host_model.disabled_features
    # libvirt 9.0 does not report a maxphysaddr limit for host-model.
    assert caps.maxphysaddr_limit is None
    assert caps.disk_buses == ("fdc", "scsi", "virtio", "usb", "sata")
    assert "virtio" in caps.video_models
    assert caps.rng_models[0] == "virtio"
    assert "vmcoreinfo" in caps.features and "sev" not in caps.features
    assert caps.device("graphics").values("type")[:2] == ("sdl", "vnc")
    assert caps.device("no-such-device") is None


def test_host_model_maxphysaddr_limit():
    caps = parse_domain_capabilities(
        load_sample("x86_64-passthrough-52bits").domain_capabilities_xml
    )
    assert caps.host_model.maxphysaddr == MaxPhysAddr("passthrough", None, 52)
    assert caps.maxphysaddr_limit == 52


@pytest.mark.parametrize(("document", "message"), [
    ("<domainCapabilities><arch>x86_64</arch></domainCapabilities>",
     "missing <domain>"),
    ("<domainCapabilities><domain>kvm</domain></domainCapabilities>",
     "missing <arch>"),
    ("<domainCapabilities><domain>kvm</domain><arch>x</arch>"
     "<vcpu max='lots'/></domainCapabilities>", "vcpu@max"),
    ("<domainCapabilities><domain>kvm</domain><arch>x</arch><cpu>"
     "<mode name='host-model' supported='perhaps'/></cpu>"
     "</domainCapabilities>", "mode@supported: expected 'yes' or 'no'"),
    ("<domainCapabilities><domain>kvm</domain><arch>x</arch><devices>"
     "<disk supported='yes'><enum><value>x</value></enum></disk></devices>"
     "</domainCapabilities>", "disk/enum: missing 'name'"),
])
def test_invalid_domain_capabilities(document, message):
    with pytest.raises(CapabilitiesError) as raised:
        parse_domain_capabilities(document)
    assert message in str(raised.value)


# (fixture, machine, cpu_mode, maxphysaddr, disk, cdrom, floppy, vif,
#  video, pointer, rng, scsi) read off the captured XML.
DOMAIN_FACTS = [
    ("q35-emulate46.xml", "pc-q35-7.2", "custom",
     MaxPhysAddr("emulate", 46), ("virtio",), ("sata",), (), ("virtio",),
     ("virtio",), ("usbtablet",), ("virtio",), ("virtio-scsi",)),
    ("pc-passthrough.xml", "pc-i440fx-7.2", "host-passthrough",
     MaxPhysAddr("passthrough"), ("ide",), (), ("fdc",), ("e1000",),
     ("cirrus",), (), (), ()),
    ("q35-plain.xml", "pc-q35-7.2", "custom", None, ("scsi",), (), (), (),
     ("bochs",), (), (), ("lsilogic",)),
    ("running-q35.xml", "pc-q35-7.2", "custom", MaxPhysAddr("emulate", 40),
     (), (), (), (), ("vga",), (), (), ()),
]


@pytest.mark.parametrize("facts", DOMAIN_FACTS, ids=lambda f: f[0])
def test_captured_guest_domains(facts):
    (name, machine, cpu_mode, maxphysaddr, disk, cdrom, floppy, vif, video,
     pointer, rng, scsi) = facts
    guest = parse_guest_domain((DOMAINS / name).read_bytes())
    assert guest.uuid.startswith("5d2b0c1e-7a44-4c57-9e5a-0f3a1b2c46")
    assert guest.arch == ("x86_64")
    assert guest.machine == machine
    assert guest.cpu_mode == cpu_mode
    assert guest.maxphysaddr == maxphysaddr
    assert (guest.disk_buses, guest.cdrom_buses, guest.floppy_buses) == (
        disk, cdrom, floppy
    )
    assert guest.vif_models == vif
    assert guest.video_models == video
    assert guest.pointer_models == pointer
    assert guest.rng_models == rng
    assert guest.scsi_models == scsi


def test_running_domain_matches_its_qemu_command_line():
    guest = parse_guest_domain((DOMAINS / "running-q35.xml").read_bytes())
    cmdline = (DOMAINS / "running-q35.cmdline.txt").read_text()
    assert "phys-bits=%d" % guest.maxphysaddr.bits in cmdline
    assert "machine %s" % guest.machine in cmdline.replace(",", " ")


@pytest.mark.parametrize(("document", "message"), [
    ("<domain><uuid>u</uuid></domain>", "missing 'type'"),
    ("<domain type='kvm'/>", "missing <uuid>"),
    ("<domain type='kvm'><uuid>u</uuid><cpu><maxphysaddr mode='emulate' "
     "bits='forty'/></cpu></domain>", "maxphysaddr@bits"),
])
def test_invalid_guest_domains(document, message):
    with pytest.raises(CapabilitiesError) as raised:
        parse_guest_domain(document)
    assert message in str(raised.value)
