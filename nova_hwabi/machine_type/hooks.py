"""What a compute host records for an instance, as pure functions.

Each hook takes an instance's record (system metadata, image properties,
vm_state) and, where there is one, its parsed libvirt domain, and returns
the :class:`RecordChange` to apply. Nothing here touches Nova or libvirt:
:mod:`nova_hwabi.machine_type.records` applies the changes, and the
recorder command feeds in the local domains.

Two values are kept for the machine type: Nova's own
``image_hw_machine_type`` (what Nova reads when it defines the guest) and
``hwabi_machine_type``, the versioned type the guest really runs, which
is what must survive a QEMU upgrade for the ABI to stay put.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nova_hwabi import address_width
from nova_hwabi.capabilities.guest import GuestDomain
from nova_hwabi.machine_type import defaults, devices, names
from nova_hwabi.machine_type.sysmeta import (
    IMAGE_PREFIX,
    PINNED_KEY,
    RECORDED_KEY,
)

# The keyboard bus a guest gets without hw_input_bus (Nova's
# _guest_add_keyboard_device adds a USB keyboard to AArch64 guests only;
# libvirt adds a ps2 keyboard to x86 guests and a USB one to pseries
# guests by itself). Such a keyboard says nothing about hw_input_bus.
_IMPLICIT_KEYBOARD_BUS = {
    "x86_64": "ps2", "i686": "ps2", "aarch64": "usb",
    "ppc64": "usb", "ppc64le": "usb",
}

# The SCSI controller model libvirt (9.0, qemuDomainDefaultSCSIController
# Model) adds by itself when a guest has a SCSI disk and no controller:
# lsilogic on x86, ibmvscsi on pseries, virtio-scsi on Arm virt and s390x.
_IMPLICIT_SCSI_MODEL = {
    names.I440FX: "lsilogic", names.Q35: "lsilogic",
    names.PSERIES: "ibmvscsi", names.VIRT: "virtio-scsi",
    names.S390_CCW_VIRTIO: "virtio-scsi",
}

# The NIC model libvirt (9.0, qemuDomainDefaultNetModel) gives an interface
# without one: what a guest gets from Nova with [libvirt]
# use_virtio_for_bridges off and no hw_vif_model.
_IMPLICIT_NIC_MODEL = {
    names.I440FX: "rtl8139", names.Q35: "rtl8139",
    names.PSERIES: "rtl8139", names.VIRT: "virtio",
    names.S390_CCW_VIRTIO: "virtio",
}


def _first(values: tuple[str, ...]) -> str | None:
    return values[0] if values else None


def _input_bus(domain: GuestDomain, family: str | None) -> str | None:
    """hw_input_bus makes Nova add a keyboard and a tablet on that bus, so
    only a keyboard Nova or libvirt would not add anyway shows it; a USB
    tablet alone comes from hw_pointer_model (or [DEFAULT] pointer_model)
    and recording its bus would add a keyboard."""
    implicit = _IMPLICIT_KEYBOARD_BUS.get(domain.arch or "")
    for bus in domain.keyboard_buses:
        if bus != implicit and bus in devices.INPUT_BUSES:
            return bus
    return None


def _scsi_model(domain: GuestDomain, family: str | None) -> str | None:
    """Nova adds a SCSI controller only for hw_scsi_model; a controller of
    libvirt's default model next to SCSI disks may be libvirt's own, and
    recording it would add a controller to Nova's guest definition."""
    model = _first(domain.scsi_models)
    has_scsi_disk = "scsi" in (domain.disk_buses + domain.cdrom_buses
                               + domain.floppy_buses)
    if has_scsi_disk and model == _IMPLICIT_SCSI_MODEL.get(family or ""):
        return None
    return model


def _vif_model(domain: GuestDomain, family: str | None) -> str | None:
    """libvirt fills in its default model for a NIC Nova gave none;
    recording it would add a model to Nova's guest definition."""
    model = _first(domain.vif_models)
    if model == _IMPLICIT_NIC_MODEL.get(family or ""):
        return None
    return model


def _attribute(name: str) -> Callable[[GuestDomain, str | None], str | None]:
    """The first value of a GuestDomain tuple: properties that only choose
    the bus or model of devices Nova adds anyway (disks, CD-ROMs, floppies,
    NICs, the video device, the RNG), so recording what the device has
    reproduces it. A USB tablet is what hw_pointer_model=usbtablet gives.
    """
    return lambda domain, family: _first(getattr(domain, name))


# The device properties a domain shows, each with how to read, from the
# domain, the value Nova would itself have used to produce its devices
# (Nova's _get_guest_config): recording any other value would change the
# guest at its next redefinition. hw_rescue_bus is only visible while
# rescued, so it is never inferred. hw_rng_model has no effect on Nova's
# guest (the virtio RNG comes with every flavor that allows it) and virtio
# is its only value, so recording it cannot change the guest.
_FROM_DOMAIN = {
    "hw_disk_bus": _attribute("disk_buses"),
    "hw_cdrom_bus": _attribute("cdrom_buses"),
    "hw_floppy_bus": _attribute("floppy_buses"),
    "hw_input_bus": _input_bus,
    "hw_pointer_model": _attribute("pointer_models"),
    "hw_rng_model": _attribute("rng_models"),
    "hw_scsi_model": _scsi_model,
    "hw_video_model": _attribute("video_models"),
    "hw_vif_model": _vif_model,
}


@dataclass(frozen=True)
class InstanceRecord:
    """What Nova keeps for one instance, as far as the hooks need it."""

    uuid: str
    vm_state: str
    arch: str | None
    system_metadata: Mapping[str, str]
    image_properties: Mapping[str, Any] = field(default_factory=dict)

    def recorded(self, prop: str) -> str | None:
        """The value recorded for image property ``prop``, if any."""
        return self.system_metadata.get(IMAGE_PREFIX + prop)


@dataclass(frozen=True)
class RecordChange:
    """System metadata keys to set and to remove, each with its source."""

    set: dict[str, str] = field(default_factory=dict)
    unset: tuple[str, ...] = ()
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """True when nothing would change."""
        return not self.set and not self.unset

    def describe(self) -> str:
        """One line for people: what changes and where it came from."""
        if self.empty:
            return "nothing to record"
        parts = ["%s=%s (%s)" % (key, value, self.sources.get(key, "?"))
                 for key, value in sorted(self.set.items())]
        parts.extend("unset %s" % key for key in self.unset)
        return "; ".join(parts)


def _machine_type_source(record: InstanceRecord,
                         domain: GuestDomain | None,
                         conf: Any) -> tuple[str | None, str]:
    """The machine type to record and where it came from."""
    if domain is not None and domain.machine:
        return domain.machine, "running domain"
    image_value = record.image_properties.get("hw_machine_type")
    if image_value:
        return str(image_value), "image property"
    arch = record.arch or (domain.arch if domain else None)
    if arch:
        configured = defaults.default_machine_type(arch, conf)
        if configured:
            return configured, "default for %s" % arch
    return None, "no domain, image property or default"


def _pinned(machine_type: str | None,
            resolve: Callable[[str], str | None] | None) -> str | None:
    """The versioned form of ``machine_type``, if it can be known here."""
    if not machine_type:
        return None
    parsed = names.parse_machine_type(machine_type)
    if not parsed.is_alias:
        return machine_type
    return resolve(machine_type) if resolve else None


def _device_changes(record: InstanceRecord, domain: GuestDomain | None,
                    machine_type: str | None, change: RecordChange) -> None:
    """Record, for properties not yet recorded, the values Nova would have
    used to give the domain its devices (see ``_FROM_DOMAIN``)."""
    if domain is None:
        return
    family = _family(machine_type)
    for prop, infer in _FROM_DOMAIN.items():
        if record.recorded(prop) is not None:
            continue  # already recorded: the record wins
        found = infer(domain, family)
        if not found:
            continue
        try:
            value = devices.validate_image_property(prop, found, machine_type)
        except devices.InvalidImageProperty:
            # Not a value Nova can express (or this machine can have), so
            # there is nothing to pin.
            continue
        change.set[IMAGE_PREFIX + prop] = value
        change.sources[IMAGE_PREFIX + prop] = "running domain"


def _family(machine_type: str | None) -> str | None:
    if not machine_type:
        return None
    try:
        return names.parse_machine_type(machine_type).family
    except names.UnsupportedMachineType:
        return None


def at_spawn(record: InstanceRecord, domain: GuestDomain, conf: Any
             ) -> RecordChange:
    """After the guest is defined: pin what libvirt chose.

    Nova records its own machine type at spawn; this adds the versioned
    type the new domain got and the device buses/models it was given.
    """
    return at_startup(record, domain, conf)


def at_startup(record: InstanceRecord, domain: GuestDomain | None,
               conf: Any, *,
               resolve: Callable[[str], str | None] | None = None
               ) -> RecordChange:
    """At service start-up: record what an instance is missing.

    The machine type comes from the running domain when there is one, else
    the image, else ``[libvirt] hw_machine_type``, else the built-in
    default; ``resolve`` maps an alias to this host's versioned type.
    Values already recorded are never changed.
    """
    change = RecordChange()
    recorded = record.recorded("hw_machine_type")
    machine_type, source = (recorded, "recorded") if recorded else \
        _machine_type_source(record, domain, conf)
    if machine_type and not recorded:
        names.parse_machine_type(machine_type)
        change.set[RECORDED_KEY] = machine_type
        change.sources[RECORDED_KEY] = source
    running = domain.machine if domain is not None else None
    pinned = running or _pinned(machine_type, resolve)
    if pinned and not record.system_metadata.get(PINNED_KEY):
        change.set[PINNED_KEY] = pinned
        change.sources[PINNED_KEY] = ("running domain" if running
                                      else "resolved on this host")
    _device_changes(record, domain, pinned or machine_type, change)
    return change


def width_at_definition(record: InstanceRecord,
                        domain: GuestDomain | None,
                        host_bits: int | None) -> RecordChange:
    """After the guest is defined on this host: record its address width.

    Called at boot, evacuation, unshelve and the end of a cold or live
    migration, so the record always says the width the guest runs with
    (:func:`nova_hwabi.address_width.width_at_spawn`): the host's bits, or
    the passthrough limit when the host has that many, or the emulated
    bits. ``host_bits`` is the host CPU's ``<maxphysaddr bits=>``. Keys
    are removed when the guest no longer has a knowable width (a resize to
    a flavor without maxphysaddr).
    """
    width = address_width.width_at_spawn(
        domain.maxphysaddr if domain is not None else None, host_bits)
    to_set, to_unset = address_width.record_change(record.system_metadata,
                                                   width)
    source = ("%s on this host" % width.describe() if width is not None
              else "no address width")
    return RecordChange(set=to_set, unset=to_unset,
                        sources=dict.fromkeys((*to_set, *to_unset), source))


def at_rebuild(record: InstanceRecord) -> RecordChange:
    """Rebuild onto a new image: forget the machine type so it is chosen
    afresh from the new image or the host's default."""
    unset = tuple(key for key in (RECORDED_KEY, PINNED_KEY)
                  if key in record.system_metadata)
    return RecordChange(unset=unset,
                        sources=dict.fromkeys(unset, "rebuild"))


def at_move(record: InstanceRecord) -> RecordChange:
    """A move keeps everything recorded: nothing changes."""
    return RecordChange()


def properties_for_redefinition(record: InstanceRecord,
                                image_properties: Mapping[str, Any]
                                ) -> dict[str, Any]:
    """The image properties to define the guest with after a move.

    What is recorded wins over the image the move was started from and
    over the destination's defaults (upstream rebuilt from the RequestSpec
    image and the destination default, turning pc into q35).
    """
    merged = dict(image_properties)
    for key, value in record.system_metadata.items():
        if key.startswith(IMAGE_PREFIX):
            merged[key[len(IMAGE_PREFIX):]] = value
    pinned = record.system_metadata.get(PINNED_KEY)
    if pinned:
        merged["hw_machine_type"] = pinned
    return merged
