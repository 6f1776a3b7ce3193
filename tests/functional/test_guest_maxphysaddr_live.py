"""guest_cpu_element's <maxphysaddr> in a real libvirtd and QEMU.

Against qemu:///system, with the live host's capabilities and libvirt
version as input, this proves:

- an emulated width requested by a flavor and rendered for this host
  starts a TCG guest whose QEMU runs with ``phys-bits=N``, and libvirt's
  live XML parses back to ``MaxPhysAddr('emulate', N)`` (40 bits and the
  host's own width);
- passthrough rendered for a host-passthrough CPU starts a KVM guest whose
  QEMU runs with ``host-phys-bits=on``;
- a width one above the host's is refused by guest_cpu_element, so no
  domain is defined, and libvirt refuses the same element itself: the
  check moves libvirt's refusal earlier without being stricter;
- the version gates match the live libvirt: the rendered element is
  accepted where the gate opens, and below it libvirt refuses emulate
  without bits and silently drops a passthrough limit.

Every domain is destroyed and undefined by the ``guests`` fixture, also
when a test fails.
"""

import re
import uuid
from pathlib import Path
from typing import NamedTuple

import pytest

from nova_hwabi.address_space import (
    EMULATE_WITHOUT_BITS,
    FLAVOR_BITS,
    FLAVOR_MODE,
    IMAGE_MODE,
    PASSTHROUGH_LIMIT,
    AddressSpaceRequest,
    AddressSpaceUnsupportedError,
    translate,
)
from nova_hwabi.capabilities import (
    HostCapabilities,
    LibvirtVersion,
    MaxPhysAddr,
    parse_guest_domain,
    parse_host_capabilities,
)
from nova_hwabi.conf.capabilities import MAX_BITS
from tests.functional.conftest import virsh

QEMU_PID_DIR = Path("/run/libvirt/qemu")
# libvirt's own wording when a width exceeds the host's (libvirt 9.x).
LIBVIRT_TOO_WIDE = "cannot exceed the number supported by the host CPU"

DOMAIN = """\
<domain type='{domain_type}'>
  <name>{name}</name>
  <uuid>{uuid}</uuid>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
  </os>
  {cpu}
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <devices/>
</domain>
"""


def custom_cpu(element: str) -> str:
    """A TCG-friendly CPU: qemu64 exists on every QEMU build."""
    return ("<cpu mode='custom' match='exact'><model>qemu64</model>%s"
            "</cpu>" % element)


def passthrough_cpu(element: str) -> str:
    # Nested KVM hosts like these refuse host CPUs that keep
    # arch-capabilities (see /work/shared/ENVIRONMENT.md).
    return ("<cpu mode='host-passthrough'>%s<feature policy='disable' "
            "name='arch-capabilities'/></cpu>" % element)


class LiveHost(NamedTuple):
    caps: HostCapabilities
    version: LibvirtVersion
    bits: int


def _daemon_version() -> LibvirtVersion:
    # The daemon parses the domain XML, so its version is the one that
    # counts; virsh prints it for remote connections such as this one.
    text = virsh("version", "--daemon")
    match = (re.search(r"Running against daemon: (\d+\.\d+\.\d+)", text)
             or re.search(r"Using library: libvirt (\d+\.\d+\.\d+)", text))
    assert match, "cannot read the libvirt version from: %s" % text
    return LibvirtVersion.parse(match.group(1))


@pytest.fixture(scope="module")
def live_host(libvirtd) -> LiveHost:
    caps = parse_host_capabilities(virsh("capabilities"))
    assert caps.cpu.arch == "x86_64", "these guests need an x86_64 host"
    assert caps.cpu.maxphysaddr is not None, (
        "the live host reports no <maxphysaddr>: nothing to check against"
    )
    return LiveHost(caps, _daemon_version(), caps.cpu.maxphysaddr.bits)


class Guests:
    """Defines and starts domains; remembers them for cleanup."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.defined: list[str] = []

    def define(self, domain_type: str, cpu: str) -> str:
        name = "hwabi-maxphys-%s" % uuid.uuid4().hex[:10]
        path = self.directory / ("%s.xml" % name)
        path.write_text(DOMAIN.format(domain_type=domain_type, name=name,
                                      uuid=uuid.uuid4(), cpu=cpu))
        virsh("define", str(path))
        # Only after a successful define: there is nothing to undefine
        # otherwise, and a failing undefine would hide the real error.
        self.defined.append(name)
        return name

    def start(self, domain_type: str, cpu: str) -> str:
        name = self.define(domain_type, cpu)
        virsh("start", name)
        return name

    def cleanup(self) -> None:
        for name in self.defined:
            virsh("destroy", name, check=False)  # fails if not running
            virsh("undefine", name, check=False)
        left = set(self.defined) & set(all_domains())
        assert not left, "domains left behind: %s" % sorted(left)


@pytest.fixture
def guests(libvirtd, tmp_path):
    created = Guests(tmp_path)
    yield created
    created.cleanup()


def all_domains() -> list[str]:
    return virsh("list", "--all", "--name").split()


def qemu_cpu_options(name: str) -> list[str]:
    """The comma-separated ``-cpu`` options of the running QEMU."""
    assert virsh("domstate", name).strip() == "running"
    pid = (QEMU_PID_DIR / ("%s.pid" % name)).read_text().strip()
    argv = Path("/proc", pid, "cmdline").read_bytes().decode().split("\0")
    assert "qemu-system" in argv[0], argv[0]
    return argv[argv.index("-cpu") + 1].split(",")


def live_maxphysaddr(name: str) -> MaxPhysAddr | None:
    return parse_guest_domain(virsh("dumpxml", name)).maxphysaddr


@pytest.mark.parametrize("bits", [40, None], ids=["40-bits", "host-bits"])
def test_emulated_width_reaches_qemu(live_host, guests, bits):
    bits = live_host.bits if bits is None else bits
    request = translate(
        {FLAVOR_MODE: "emulate", FLAVOR_BITS: str(bits)}, None
    )
    element = request.guest_cpu_element(live_host.caps, live_host.version,
                                        cpu_mode="custom")
    assert element == "<maxphysaddr mode='emulate' bits='%d'/>" % bits

    name = guests.start("qemu", custom_cpu(element))

    options = qemu_cpu_options(name)
    assert options[0] == "qemu64"
    assert "phys-bits=%d" % bits in options
    assert "host-phys-bits=on" not in options
    assert live_maxphysaddr(name) == MaxPhysAddr("emulate", bits)


def test_passthrough_reaches_qemu(live_host, guests):
    assert Path("/dev/kvm").exists(), "a KVM guest needs /dev/kvm"
    request = translate(None, {IMAGE_MODE: "passthrough"})
    element = request.guest_cpu_element(live_host.caps, live_host.version,
                                        cpu_mode="host-passthrough")
    assert element == "<maxphysaddr mode='passthrough'/>"

    name = guests.start("kvm", passthrough_cpu(element))

    options = qemu_cpu_options(name)
    assert options[0] == "host"
    assert "host-phys-bits=on" in options
    assert not any(o.startswith("phys-bits=") for o in options), options
    assert live_maxphysaddr(name) == MaxPhysAddr("passthrough")


def test_width_above_host_is_refused_before_define(live_host, guests):
    bits = live_host.bits + 1
    # translate() stops at 52 bits; on a 52-bit host the request is built
    # directly so the host-width check still runs (never skipped).
    request = (
        translate({FLAVOR_MODE: "emulate", FLAVOR_BITS: str(bits)}, None)
        if bits <= MAX_BITS
        else AddressSpaceRequest(mode="emulate", bits=bits)
    )
    with pytest.raises(AddressSpaceUnsupportedError,
                       match="asks for %d address bits but this host has "
                             "%d" % (bits, live_host.bits)):
        element = request.guest_cpu_element(live_host.caps,
                                            live_host.version)
        guests.define("qemu", custom_cpu(element))  # must not be reached

    # Nothing reached libvirt (not compared with the host's whole domain
    # list: other users of the shared libvirtd define domains meanwhile).
    assert guests.defined == []
    # The element written by hand is refused by libvirt too, so the
    # refusal above is not stricter than libvirt.
    too_wide = "<maxphysaddr mode='emulate' bits='%d'/>" % bits
    with pytest.raises(AssertionError, match=LIBVIRT_TOO_WIDE):
        guests.define("qemu", custom_cpu(too_wide))


def test_emulate_without_bits_gate_matches_libvirt(live_host, guests):
    request = AddressSpaceRequest(mode="emulate", bits=None)
    bare = "<maxphysaddr mode='emulate'/>"
    if live_host.version < EMULATE_WITHOUT_BITS:
        with pytest.raises(AddressSpaceUnsupportedError,
                           match="needs bits with mode emulate"):
            request.guest_cpu_element(live_host.caps, live_host.version)
        # Why the gate exists: this libvirt refuses the bare element.
        with pytest.raises(AssertionError, match="bits= must be specified"):
            guests.define("qemu", custom_cpu(bare))
    else:
        element = request.guest_cpu_element(live_host.caps,
                                             live_host.version)
        assert element == bare
        name = guests.define("qemu", custom_cpu(element))
        assert live_maxphysaddr(name).mode == "emulate"


def test_passthrough_limit_gate_matches_libvirt(live_host, guests):
    request = translate({FLAVOR_MODE: "passthrough"}, None)
    limited = "<maxphysaddr mode='passthrough' limit='40'/>"
    if live_host.version < PASSTHROUGH_LIMIT:
        with pytest.raises(AddressSpaceUnsupportedError,
                           match="cannot limit passthrough bits"):
            request.guest_cpu_element(live_host.caps, live_host.version,
                                      cpu_mode="host-passthrough",
                                      limit=40)
        # Why the gate exists: this libvirt accepts the limit and drops
        # it without a word, so the guest would get the full host width.
        name = guests.define("kvm", passthrough_cpu(limited))
        assert live_maxphysaddr(name) == MaxPhysAddr("passthrough")
    else:
        element = request.guest_cpu_element(live_host.caps,
                                             live_host.version,
                                             cpu_mode="host-passthrough",
                                             limit=40)
        assert element == limited
        name = guests.define("kvm", passthrough_cpu(element))
        assert live_maxphysaddr(name) == MaxPhysAddr("passthrough",
                                                     limit=40)
