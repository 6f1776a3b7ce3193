"""What the compute driver decides, as pure functions over plain values.

Nothing here imports Nova or talks to libvirt: :mod:`nova_hwabi.virt.driver`
reads Nova's objects and the host, calls these helpers and applies what
they return. Each helper makes one decision.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from nova_hwabi import traits as hwabi_traits
from nova_hwabi.capabilities.model import HostCapabilities
from nova_hwabi.capabilities.reported_traits import HostTraits
from nova_hwabi.machine_type import devices, hooks, sysmeta

# The image properties that define the guest's hardware ABI: the ones the
# redefinition takes from the record rather than from the image a move or
# rescue was started with.
ABI_PROPERTIES = ("hw_machine_type", *sorted(devices.DEVICE_PROPERTIES))

# Nova's capability names for the two address-space traits (Nova's
# resource tracker: a true capability adds the trait, a false one removes
# it at every periodic update).
CAPABILITY_BY_TRAIT = {
    hwabi_traits.ADDRESS_SPACE_PASSTHROUGH:
        "supports_address_space_passthrough",
    hwabi_traits.ADDRESS_SPACE_EMULATED: "supports_address_space_emulated",
}


# What Nova's libvirt driver records itself (REGISTER_IMAGE_PROPERTY_
# DEFAULTS, every supported series): an instance lacking any of them is new to
# start-up recording.
NOVA_REGISTERED = ("hw_machine_type", "hw_cdrom_bus", "hw_disk_bus",
                   "hw_input_bus", "hw_pointer_model", "hw_video_model",
                   "hw_vif_model")
_NOVA_REGISTERED_KEYS = frozenset(sysmeta.IMAGE_PREFIX + name
                                  for name in NOVA_REGISTERED)


def needs_startup_recording(system_metadata: Mapping[str, str]) -> bool:
    """False when start-up recording has nothing left to add.

    An instance that carries the pin and all of Nova's defaults has been
    through spawn or an earlier start-up (the hooks never change a value
    already recorded), so its domain need not be read again: a restart
    costs no libvirt XML and no database write for it.
    """
    if not system_metadata.get(sysmeta.PINNED_KEY):
        return True
    return nova_registers(system_metadata)


def nova_registers(system_metadata: Mapping[str, str]) -> bool:
    """True when Nova's start-up registration will save this instance.

    Nova's libvirt driver saves an instance at start-up exactly when one
    of its defaults is missing; our in-memory changes then ride along in
    that save and need none of their own.
    """
    # Called for every instance at every start-up: one set comparison.
    return not system_metadata.keys() >= _NOVA_REGISTERED_KEYS


def apply_change(system_metadata: MutableMapping[str, str],
                 change: hooks.RecordChange) -> bool:
    """Write ``change`` into ``system_metadata``; True if anything changed.

    Only real differences are written, so a Nova object whose metadata
    ends up equal is not marked dirty for nothing.
    """
    changed = False
    for key, value in change.set.items():
        if system_metadata.get(key) != value:
            system_metadata[key] = value
            changed = True
    for key in change.unset:
        if key in system_metadata:
            del system_metadata[key]
            changed = True
    return changed


def redefinition_overrides(system_metadata: Mapping[str, str],
                           image_properties: Mapping[str, Any]
                           ) -> dict[str, str]:
    """The ABI properties whose recorded value must replace the image's.

    ``image_properties`` are those Nova is about to define the guest with
    (the instance's, a move's RequestSpec image, a rescue image). The
    result maps property name to the recorded value, for the properties
    in :data:`ABI_PROPERTIES` that differ; the pinned versioned machine
    type wins over ``image_hw_machine_type`` (see
    :func:`hooks.properties_for_redefinition`).
    """
    record = hooks.InstanceRecord(uuid="", vm_state="", arch=None,
                                  system_metadata=system_metadata)
    merged = hooks.properties_for_redefinition(record, image_properties)
    return {name: merged[name] for name in ABI_PROPERTIES
            if merged.get(name) is not None
            and merged[name] != image_properties.get(name)}


def pinned_machine_type(system_metadata: Mapping[str, str]) -> str | None:
    """The machine type a redefinition must use: the pin, else Nova's."""
    return (system_metadata.get(sysmeta.PINNED_KEY)
            or system_metadata.get(sysmeta.RECORDED_KEY))


def offered_machine_types(caps: HostCapabilities, arch: str,
                          domain_type: str) -> frozenset[str]:
    """Every machine type name (versioned and alias) QEMU offers here."""
    return frozenset(
        machine.name
        for guest in caps.guests_for(arch)
        for machine in guest.machines_for(domain_type)
    )


def missing_machine_type(system_metadata: Mapping[str, str],
                         caps: HostCapabilities, arch: str,
                         domain_type: str, host: str) -> str | None:
    """Why this host cannot define the guest as recorded, or None.

    The message names the machine type and the host, and says what to do.
    """
    machine_type = pinned_machine_type(system_metadata)
    if not machine_type:
        return None
    if machine_type in offered_machine_types(caps, arch, domain_type):
        return None
    return ("machine type %s recorded for this instance is not offered by "
            "QEMU on host %s (%s/%s): choose a host whose QEMU offers it, "
            "or stop the instance and change it with nova-hwabi-manage "
            "machine-type update" % (machine_type, host, arch, domain_type))


def address_space_capabilities(decided: HostTraits) -> dict[str, bool]:
    """Nova's ``supports_address_space_*`` capabilities from our decision."""
    return {capability: trait in decided.traits
            for trait, capability in CAPABILITY_BY_TRAIT.items()}


def custom_traits(decided: HostTraits) -> frozenset[str]:
    """The custom traits we add in ``update_provider_tree``.

    The two standard address-space traits are left to the resource
    tracker, which sets them from our capabilities.
    """
    return frozenset(t for t in decided.traits
                     if hwabi_traits.is_owned_custom(t))


def rebuild_forgets_machine_type(evacuate: bool) -> bool:
    """A rebuild onto an image forgets the type; an evacuation keeps it.

    Nova's API resets the ``image_*`` system metadata on rebuild (the new
    image decides again) but not on evacuate, which re-creates the same
    guest on another host.
    """
    return not evacuate


@dataclass
class StartupSummary:
    """Counts for the one INFO line the start-up recording logs."""

    instances: int = 0
    recorded: int = 0
    unchanged: int = 0
    failed: int = 0
    no_domain: int = 0

    def describe(self) -> str:
        """One line for the log."""
        return ("%d instances: %d recorded, %d already complete, %d "
                "without a local domain, %d failed" % (
                    self.instances, self.recorded, self.unchanged,
                    self.no_domain, self.failed))


RecordReader = Callable[[], hooks.InstanceRecord]


def record_at_startup(items: Iterable[tuple[str, RecordReader, Any]],
                      conf: Any,
                      resolve: Callable[[Any], Callable[[str], str | None]],
                      warn: Callable[[str, str], None],
                      ) -> tuple[dict[str, hooks.RecordChange],
                                 StartupSummary]:
    """The start-up change of each (uuid, record reader, domain or None).

    ``read_record()`` builds the instance's record (it may fail on a bad
    row); ``resolve(domain)`` gives the alias resolver for that domain (or
    for the host's own architecture when ``domain`` is None). An instance
    whose record cannot be read or whose values are refused (e.g. a
    machine type the grammar rejects) is reported through ``warn(uuid,
    reason)`` and counted; it never stops the others.
    """
    summary = StartupSummary()
    changes = {}
    for uuid, read_record, domain in items:
        summary.instances += 1
        if domain is None:
            summary.no_domain += 1
        try:
            change = hooks.at_startup(read_record(), domain, conf,
                                      resolve=resolve(domain))
        except Exception as exc:  # one instance never stops the others
            summary.failed += 1
            warn(uuid, "%s: %s" % (type(exc).__name__, exc))
            continue
        if change.empty:
            summary.unchanged += 1
        else:
            summary.recorded += 1
            changes[uuid] = change
    return changes, summary
