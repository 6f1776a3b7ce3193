"""Machine type rules against the installed QEMU and libvirtd.

Every machine type ``-machine help`` lists for the x86 emulators that
``scripts/setup-system`` installs (package qemu-system-x86) parses, and
the x86 rows of the device constraint table agree with what the real
libvirtd and QEMU define and start. A missing binary fails the test with
the reason; nothing is skipped.
"""

import re
import shutil
import subprocess
import uuid

import pytest

from nova_hwabi.machine_type import (
    InvalidImageProperty,
    check_update,
    parse_machine_type,
    validate_image_property,
)
from tests.functional.conftest import URI, virsh

BINARIES = ("qemu-system-x86_64", "qemu-system-i386")
_ALIAS_OF = re.compile(r"\(alias of (\S+)\)")


def machine_help(binary: str) -> list[tuple[str, str | None]]:
    """(name, canonical name or None) for each machine ``binary`` lists."""
    path = shutil.which(binary)
    if path is None:
        pytest.fail(
            "%s is not installed (scripts/setup-system installs "
            "qemu-system-x86)" % binary
        )
    result = subprocess.run(
        [path, "-machine", "help"], capture_output=True, text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines and lines[0].startswith("Supported machines are:"), (
        result.stdout[:200]
    )
    rows = []
    for line in lines[1:]:
        if not line.strip():
            continue
        alias_of = _ALIAS_OF.search(line)
        rows.append((line.split()[0], alias_of.group(1) if alias_of else None))
    return rows


@pytest.mark.parametrize("binary", BINARIES)
def test_every_listed_machine_type_parses(binary):
    rows = machine_help(binary)
    names = {name for name, _ in rows}
    assert {"pc", "q35"} <= names
    assert any(name.startswith("pc-q35-") for name in names)
    failures = []
    for name in sorted(names):
        try:
            parse_machine_type(name)
        except ValueError as exc:
            failures.append(str(exc))
    assert failures == []


@pytest.mark.parametrize("binary", BINARIES)
def test_aliases_resolve_within_their_family(binary):
    aliases = [(name, canonical) for name, canonical in machine_help(binary)
               if canonical is not None]
    assert aliases
    for name, canonical in aliases:
        alias, target = parse_machine_type(name), parse_machine_type(canonical)
        assert alias.is_alias, name
        assert target.is_versioned, canonical
        assert alias.family == target.family
        assert alias.variant in (None, target.variant)
        assert check_update(alias, target) is target


# Device XML for an image property value, as Nova's libvirt driver would
# write it (cdrom and floppy without media, a user-mode NIC).
_TARGET_DEV = {"ide": "hda", "fdc": "fda", "xen": "xvda"}
_DEVICE_XML = {
    "hw_cdrom_bus": "<disk type='file' device='cdrom'><target dev='{dev}' "
                    "bus='{value}'/></disk>",
    "hw_floppy_bus": "<disk type='file' device='floppy'><target dev='{dev}' "
                     "bus='{value}'/></disk>",
    "hw_disk_bus": "<disk type='file' device='disk'><source "
                   "file='/dev/null'/><target dev='{dev}' bus='{value}'/>"
                   "</disk>",
    "hw_video_model": "<video><model type='{value}'/></video>",
    "hw_scsi_model": "<controller type='scsi' model='{value}'/>",
    "hw_vif_model": "<interface type='user'><model type='{value}'/>"
                    "</interface>",
}
_GUEST = """\
<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='{machine}'>hvm</type></os>
  <on_poweroff>destroy</on_poweroff>
  <devices>{device}</devices>
</domain>
"""

# x86 rows of the constraint table that this host's QEMU can prove, both
# ways: what validate_image_property refuses, libvirt refuses to define or
# QEMU to start; what it accepts starts.
LIVE = [
    ("pc-q35-7.2", "hw_cdrom_bus", "ide"),
    ("pc-q35-7.2", "hw_cdrom_bus", "sata"),
    ("pc-i440fx-7.2", "hw_cdrom_bus", "ide"),
    ("pc-q35-7.2", "hw_floppy_bus", "fdc"),
    ("pc-q35-7.2", "hw_disk_bus", "xen"),
    ("pc-q35-7.2", "hw_video_model", "xen"),
    ("pc-q35-7.2", "hw_video_model", "gop"),
    ("pc-q35-7.2", "hw_video_model", "vga"),
    ("pc-q35-7.2", "hw_scsi_model", "buslogic"),
    ("pc-q35-7.2", "hw_scsi_model", "ibmvscsi"),
    ("pc-q35-7.2", "hw_scsi_model", "virtio-scsi"),
    ("pc-q35-7.2", "hw_vif_model", "netfront"),
    ("pc-q35-7.2", "hw_vif_model", "spapr-vlan"),
    ("pc-q35-7.2", "hw_vif_model", "e1000e"),
]


def libvirt_runs(tmp_path, machine: str, device: str) -> tuple[bool, str]:
    """Whether libvirt defines and QEMU starts a guest with ``device``."""
    name = "hwabi-mt-%s" % uuid.uuid4().hex[:12]
    path = tmp_path / ("%s.xml" % name)
    path.write_text(_GUEST.format(name=name, machine=machine, device=device))
    defined = subprocess.run(
        ["virsh", "-c", URI, "define", str(path)], capture_output=True,
        text=True, timeout=120,
    )
    if defined.returncode != 0:
        return False, defined.stderr.strip()
    try:
        started = subprocess.run(
            ["virsh", "-c", URI, "start", name], capture_output=True,
            text=True, timeout=120,
        )
        return started.returncode == 0, started.stderr.strip()
    finally:
        virsh("destroy", name, check=False)
        virsh("undefine", name, check=False)


@pytest.mark.parametrize(("machine", "name", "value"), LIVE)
def test_constraints_agree_with_libvirt(libvirtd, tmp_path, machine, name,
                                        value):
    try:
        validate_image_property(name, value, machine)
        accepted = True
    except InvalidImageProperty:
        accepted = False
    device = _DEVICE_XML[name].format(
        value=value, dev=_TARGET_DEV.get(value, "sda")
    )
    runs, error = libvirt_runs(tmp_path, machine, device)
    assert runs is accepted, error
