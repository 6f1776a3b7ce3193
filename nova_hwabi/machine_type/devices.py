"""Device bus/model image properties an admin may set on an instance.

:func:`validate_image_property` checks one of the ten device bus/model
image properties (:data:`DEVICE_PROPERTIES`) against Nova's enumerations
and against what the machine type can have; a refusal is
:class:`InvalidImageProperty` (a
:class:`~nova_hwabi.machine_type.names.MachineTypeError`). Pure functions,
no Nova import.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from nova_hwabi.machine_type.names import (
    POWERNV,
    PSERIES,
    Q35,
    S390_CCW_VIRTIO,
    VIRT,
    MachineType,
    MachineTypeError,
    as_machine_type,
)


class InvalidImageProperty(MachineTypeError):  # noqa: N818
    """A device bus/model image property or value that cannot be set.

    ``kind`` is ``"name"`` when the property itself cannot be set and
    ``"value"`` when the value is wrong for it or for the machine type.
    """

    def __init__(self, message: str, kind: str = "value") -> None:
        super().__init__(message)
        self.kind = kind


# Device bus/model enumerations, as in Nova (nova/objects/fields.py
# DiskBus, InputBus, PointerModelType, RNGModel, SCSIModel, VideoModel,
# VIFModel, and nova/network/model.py VIF_MODEL_ALL). nova/objects/
# image_meta.py types hw_cdrom_bus, hw_disk_bus, hw_floppy_bus and
# hw_rescue_bus as DiskBusField and hw_rng_model as RNGModelField.
DISK_BUSES = ("fdc", "ide", "sata", "scsi", "usb", "virtio", "xen", "lxc",
              "uml")
INPUT_BUSES = ("usb", "virtio")
POINTER_MODELS = ("usbtablet",)
RNG_MODELS = ("virtio",)
SCSI_MODELS = ("buslogic", "ibmvscsi", "lsilogic", "lsisas1068",
               "lsisas1078", "virtio-scsi", "vmpvscsi")
VIDEO_MODELS = ("cirrus", "qxl", "vga", "vmvga", "xen", "virtio", "gop",
                "none", "bochs")
VIF_MODELS = ("virtio", "ne2k_pci", "pcnet", "rtl8139", "e1000", "e1000e",
              "netfront", "spapr-vlan", "lan9118", "sriov", "vmxnet",
              "vmxnet3", "igb")

# Nova's VIFModel also accepts VMware's legacy names, in any case.
_LEGACY_VIF_MODELS = {
    "virtuale1000": "e1000",
    "virtuale1000e": "e1000e",
    "virtualpcnet32": "pcnet",
    "virtualsriovethernetcard": "sriov",
    "virtualvmxnet": "vmxnet",
    "virtualvmxnet3": "vmxnet3",
}

_DISK = "disk bus"
_INPUT = "input bus"
_POINTER = "pointer model"
_RNG = "RNG model"
_SCSI = "SCSI model"
_VIDEO = "video model"
_VIF = "VIF model"

# The ten properties the device bus/model spec lets an admin change, each
# with the kind of device it sets and Nova's values for it.
DEVICE_PROPERTIES = {
    "hw_cdrom_bus": (_DISK, DISK_BUSES),
    "hw_disk_bus": (_DISK, DISK_BUSES),
    "hw_floppy_bus": (_DISK, DISK_BUSES),
    "hw_rescue_bus": (_DISK, DISK_BUSES),
    "hw_input_bus": (_INPUT, INPUT_BUSES),
    "hw_pointer_model": (_POINTER, POINTER_MODELS),
    "hw_rng_model": (_RNG, RNG_MODELS),
    "hw_scsi_model": (_SCSI, SCSI_MODELS),
    "hw_video_model": (_VIDEO, VIDEO_MODELS),
    "hw_vif_model": (_VIF, VIF_MODELS),
}


@dataclass(frozen=True, slots=True)
class _Constraint:
    """Values of one kind a set of machine families cannot have.

    ``families`` None means every QEMU machine type except
    ``except_families``.
    """

    kind: str
    values: frozenset[str]
    families: frozenset[str] | None
    reason: str
    except_families: frozenset[str] = frozenset()

    def applies_to(self, family: str) -> bool:
        if family in self.except_families:
            return False
        return self.families is None or family in self.families


def _rule(kind: str, values: Iterable[str], families: Iterable[str] | None,
          reason: str, except_families: Iterable[str] = ()) -> _Constraint:
    return _Constraint(
        kind, frozenset(values),
        None if families is None else frozenset(families), reason,
        frozenset(except_families),
    )


_NON_X86 = (VIRT, S390_CCW_VIRTIO, PSERIES, POWERNV)

# What a machine type cannot have. Only constraints that hold for every
# build of QEMU and libvirt, each with its source:
# - Nova's libvirt driver accepts only these disk buses and VIF models
#   for qemu/kvm guests (blockinfo.SUPPORTED_DEVICE_BUSES,
#   vif.SUPPORTED_VIF_MODELS); libvirt's QEMU driver refuses xen and gop
#   video and the BusLogic SCSI controller.
# - libvirt gives a guest IDE only through a machine's built-in controller
#   (i440fx has one; q35, virt, s390-ccw-virtio and pseries do not: "IDE
#   controllers are unsupported for this QEMU binary or machine type"),
#   which is why Nova puts q35 CD-ROMs on SATA.
# - A floppy needs an ISA floppy controller, which only x86 machines have
#   (libvirt adds isa-fdc to q35 itself).
# - qemu-system-s390x builds no PCI devices other than virtio: no AHCI,
#   no USB controller, no VGA-type display, no emulated NIC or SCSI HBA.
# - ibmvscsi and spapr-vlan are sPAPR VIO devices, only on pseries.
_CONSTRAINTS = (
    _rule(_DISK, ("xen", "lxc", "uml"), None,
          "Nova's libvirt driver gives QEMU/KVM guests only virtio, scsi, "
          "ide, usb, fdc or sata disks"),
    _rule(_VIF, ("netfront", "sriov", "vmxnet"), None,
          "Nova's libvirt driver does not offer this model to QEMU/KVM "
          "guests"),
    _rule(_VIDEO, ("xen", "gop"), None,
          "libvirt's QEMU driver has no such video model"),
    _rule(_SCSI, ("buslogic",), None,
          "libvirt's QEMU driver has no BusLogic controller"),
    _rule(_DISK, ("ide",), (Q35, *_NON_X86),
          "the machine has no IDE controller (libvirt offers IDE only "
          "where it is built in, as on pc/i440fx); use sata on q35, "
          "otherwise scsi or virtio"),
    _rule(_DISK, ("fdc",), _NON_X86,
          "the machine has no floppy controller (only x86 machines do)"),
    _rule(_DISK, ("sata", "usb"), (S390_CCW_VIRTIO,),
          "s390x has no AHCI or USB controller; use virtio or scsi"),
    _rule(_INPUT, ("usb",), (S390_CCW_VIRTIO,),
          "s390x has no USB controller; use virtio"),
    _rule(_POINTER, ("usbtablet",), (S390_CCW_VIRTIO,),
          "s390x has no USB controller"),
    _rule(_VIDEO, ("cirrus", "qxl", "vga", "vmvga", "bochs"),
          (S390_CCW_VIRTIO,),
          "s390x has no VGA-type display device; use virtio or none"),
    _rule(_VIF, tuple(m for m in VIF_MODELS if m != "virtio"),
          (S390_CCW_VIRTIO,),
          "s390x has only virtio network devices"),
    _rule(_SCSI, tuple(m for m in SCSI_MODELS if m != "virtio-scsi"),
          (S390_CCW_VIRTIO,),
          "s390x has only virtio-scsi controllers"),
    # The aarch64 virt domain capabilities (libvirt 9.0, QEMU 7.2; the
    # aarch64-virt sample) offer vga, virtio, bochs, ramfb and none:
    # cirrus, vmvga and qxl are x86 PC display devices.
    _rule(_VIDEO, ("cirrus", "qxl", "vmvga"), (VIRT,),
          "the virt machine's QEMU has no such display device (x86 PC "
          "devices); use virtio, vga, bochs or none"),
    _rule(_SCSI, ("ibmvscsi",), None,
          "ibmvscsi is an sPAPR VIO device, found only on pseries",
          except_families=(PSERIES,)),
    _rule(_VIF, ("spapr-vlan",), None,
          "spapr-vlan is an sPAPR VIO device, found only on pseries",
          except_families=(PSERIES,)),
)


def _refusal(kind: str, value: str,
             machine_type: MachineType) -> _Constraint | None:
    for constraint in _CONSTRAINTS:
        if (constraint.kind == kind and value in constraint.values
                and constraint.applies_to(machine_type.family)):
            return constraint
    return None


def allowed_image_property_values(
    name: str, machine_type: str | MachineType | None = None
) -> tuple[str, ...]:
    """Nova's values for device property ``name`` that ``machine_type``
    can have (all of them without a machine type)."""
    kind, values = DEVICE_PROPERTIES[check_image_property_name(name)]
    if machine_type is None:
        return values
    machine_type = as_machine_type(machine_type)
    return tuple(value for value in values
                 if _refusal(kind, value, machine_type) is None)


def _unknown_property(name: Any, action: str = "set") -> InvalidImageProperty:
    if name == "hw_machine_type":
        return InvalidImageProperty(
            "hw_machine_type is not a device bus/model property: change an "
            "instance's machine type with nova-hwabi-manage machine-type "
            "update, which applies the machine type update rules", "name"
        )
    shown = name[:60] if isinstance(name, str) else name
    hint = ""
    if isinstance(name, str) and name.startswith("image_") \
            and name[len("image_"):] in DEVICE_PROPERTIES:
        hint = " (drop the image_ prefix: %s)" % name[len("image_"):]
    return InvalidImageProperty(
        "%r cannot be %s on an instance%s: only the device bus/model "
        "properties %s can" % (shown, action, hint,
                               ", ".join(DEVICE_PROPERTIES)),
        "name",
    )


def check_image_property_name(name: Any, action: str = "set") -> str:
    """``name`` if it is one of the ten device bus/model properties.

    Raises :class:`InvalidImageProperty` (``kind`` ``"name"``) otherwise,
    e.g. before unsetting a property, which needs no value; its message
    says ``name`` cannot be ``action`` ("set", "unset").
    """
    if not isinstance(name, str) or name not in DEVICE_PROPERTIES:
        raise _unknown_property(name, action)
    return name


def _normalise(name: str, kind: str, value: Any,
               values: tuple[str, ...]) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidImageProperty(
            "%s=%r: expected one of %s%s"
            % (name, value, ", ".join(values),
               " (to remove the property, unset it with "
               "nova-hwabi-manage image-property unset)" if value is None
               else "")
        )
    text = value.strip().lower()
    if kind == _VIF:
        text = _LEGACY_VIF_MODELS.get(text, text)
    if text not in values:
        raise InvalidImageProperty(
            "%s=%r: Nova knows no such %s; expected one of %s"
            % (name, value[:40], kind, ", ".join(values))
        )
    return text


def validate_image_property(
    name: str, value: Any, machine_type: str | MachineType | None = None
) -> str:
    """Check one device bus/model property an admin wants to set.

    ``name`` must be one of :data:`DEVICE_PROPERTIES` and ``value`` one of
    Nova's values for it (case and surrounding spaces are forgiven, and
    VMware's legacy VIF model names are mapped as Nova maps them). With a
    ``machine_type``, the value must also be one that machine type can
    have. Returns the normalised value; raises
    :class:`InvalidImageProperty` (or :class:`UnsupportedMachineType` for
    a bad ``machine_type``).
    """
    kind, values = DEVICE_PROPERTIES[check_image_property_name(name)]
    text = _normalise(name, kind, value, values)
    if machine_type is None:
        return text
    machine_type = as_machine_type(machine_type)
    constraint = _refusal(kind, text, machine_type)
    if constraint is not None:
        allowed = allowed_image_property_values(name, machine_type)
        raise InvalidImageProperty(
            "%s=%s cannot be used with machine type %s: %s; choose one of %s"
            % (name, text, machine_type.name, constraint.reason,
               ", ".join(allowed) or "(none)")
        )
    return text
