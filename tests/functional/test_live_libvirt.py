"""The reporter against a real libvirtd with QEMU.

A report read through the live connection must equal the report built
from the XML ``virsh`` prints for the same host; guest domains defined in
the real libvirtd parse to the versioned machine type QEMU really uses.
"""

import json
import re
import subprocess
import sys
import uuid

import pytest

from nova_hwabi.capabilities import (
    parse_guest_domain,
    parse_host_capabilities,
)
from tests.conftest import DOMAINS
from tests.functional.conftest import define_domain, virsh


def report_cli(*argv: str) -> dict:
    """Run the installed console script's module and load its JSON."""
    result = subprocess.run(
        [sys.executable, "-m", "nova_hwabi.cmd.report",
         "--config-file", "/dev/null", "--format", "json", *argv],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _virsh_version() -> str:
    match = re.search(r"Using library: libvirt (\d+\.\d+\.\d+)",
                      virsh("version"))
    assert match, "cannot read the libvirt version from virsh"
    return match.group(1)


def test_live_report_equals_report_from_virsh_files(libvirtd, tmp_path):
    live = report_cli("--connect", libvirtd)
    caps = tmp_path / "capabilities.xml"
    caps.write_text(virsh("capabilities"))
    arch = parse_host_capabilities(caps.read_bytes()).cpu.arch
    domcaps = tmp_path / "domcapabilities.xml"
    domcaps.write_text(virsh("domcapabilities", "--virttype", "kvm",
                             "--arch", arch))
    from_files = report_cli(
        "--capabilities", str(caps), "--domcapabilities", str(domcaps),
        "--libvirt-version", _virsh_version(),
        "--hostname", virsh("hostname").strip(),
    )
    assert live.pop("source") == libvirtd
    assert from_files.pop("source") == "files"
    assert live == from_files
    assert live["domain_capabilities"], "live report lost domcapabilities"


def test_live_host_reports_its_bits_and_trait(libvirtd):
    live = report_cli("--connect", libvirtd)
    info = live["cpu_info"]
    if info["arch"] in ("x86_64", "i686"):
        assert info["maxphysaddr"]["bits"] >= 32
        assert "COMPUTE_ADDRESS_SPACE_EMULATED" in live["traits"]
    decisions = {d["trait"]: d for d in live["trait_decisions"]}
    assert not decisions["COMPUTE_ADDRESS_SPACE_PASSTHROUGH"]["reported"]
    assert "host-passthrough" in decisions[
        "COMPUTE_ADDRESS_SPACE_PASSTHROUGH"]["reason"]


@pytest.fixture
def defined_domain(libvirtd):
    """A TCG q35 guest defined (not started) from a captured definition."""
    template = (DOMAINS / "src" / "q35-emulate46.define.xml").read_text()
    domain_uuid = str(uuid.uuid4())
    name = define_domain(template, "hwabi-test-%s" % uuid.uuid4().hex[:8],
                         domain_uuid)
    yield name, domain_uuid
    virsh("undefine", name, check=False)


def test_defined_domain_records_versioned_machine(defined_domain):
    name, domain_uuid = defined_domain
    guest = parse_guest_domain(virsh("dumpxml", name))
    caps = parse_host_capabilities(virsh("capabilities"))
    assert guest.uuid == domain_uuid
    # The definition asked for the alias; libvirt pins the versioned type.
    assert guest.machine == caps.guests_for("x86_64")[0].canonical_machine(
        "q35"
    )
    assert guest.machine.startswith("pc-q35-")
    assert guest.maxphysaddr.bits == 46
    assert guest.vif_models == ("virtio",)
