"""Recorded devices and machine types against what compute hosts offer.

Nova's libvirt driver reports a trait per device bus and model a host's
QEMU supports (``COMPUTE_STORAGE_BUS_*``, ``COMPUTE_GRAPHICS_MODEL_*``,
``COMPUTE_NET_VIF_MODEL_*``, from os-traits), and Nova's image-metadata
prefilter (nova/scheduler/request_filter.py ``transform_image_metadata``)
requires them for a request's *image* properties. What an
instance was booted with is recorded in its system metadata
(``image_hw_disk_bus``...) and is what its guest is defined from at every
hard reboot and move; :func:`device_traits` turns those records into the
same traits, so the ``recorded_devices`` request filter, the upgrade check,
``audit`` and ``image-property set`` all ask the one question the same way.

:class:`Offers` asks Placement which traits some resource provider
carries, once per trait.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import os_traits
from oslo_config import cfg
from oslo_log import log as logging

from nova_hwabi import traits
from nova_hwabi.machine_type import devices, names
from nova_hwabi.machine_type.sysmeta import (
    IMAGE_PREFIX,
    PINNED_KEY,
    RECORDED_KEY,
)

if TYPE_CHECKING:
    from nova_hwabi.placement import PlacementClient

LOG = logging.getLogger(__name__)

# Property -> trait prefix, as Nova's transform_image_metadata maps
# them (its hw_architecture, hw_emulation_architecture and hw_viommu_model
# are not device records).
DEVICE_TRAIT_PREFIXES = {
    "hw_cdrom_bus": "COMPUTE_STORAGE_BUS",
    "hw_disk_bus": "COMPUTE_STORAGE_BUS",
    "hw_video_model": "COMPUTE_GRAPHICS_MODEL",
    "hw_vif_model": "COMPUTE_NET_VIF_MODEL",
}
_STANDARD_TRAITS = frozenset(os_traits.get_traits())


def device_trait(name: str, value: str | None) -> str | None:
    """Nova's trait for device property ``name`` = ``value``, or None.

    The value is normalised as ``image-property set`` stores it (case,
    VMware's legacy VIF names: ``VirtualE1000`` is ``e1000``), then mapped
    as Nova maps it (``-`` to ``_``, upper case, after the family prefix):
    ``hw_video_model=qxl`` is ``COMPUTE_GRAPHICS_MODEL_QXL``,
    ``hw_vif_model=e1000e`` is ``COMPUTE_NET_VIF_MODEL_E1000E``. None for
    properties Nova has no traits for, and for values os-traits has no
    trait for (Nova's prefilter gives up the whole request there; one
    value without a trait must not cost the others).
    """
    prefix = DEVICE_TRAIT_PREFIXES.get(name)
    if prefix is None or not isinstance(value, str) or not value.strip():
        return None
    try:
        text = devices.validate_image_property(name, value)
    except names.MachineTypeError:
        text = value.strip().lower()
    trait = "%s_%s" % (prefix, text.replace("-", "_").upper())
    return trait if trait in _STANDARD_TRAITS else None


def device_traits(
    system_metadata: Mapping[str, str],
) -> dict[str, tuple[str, str]]:
    """{property: (value, trait)} for the device records Nova has traits
    for, from an instance's system metadata (``image_<property>`` keys)."""
    found: dict[str, tuple[str, str]] = {}
    for name in DEVICE_TRAIT_PREFIXES:
        value = system_metadata.get(IMAGE_PREFIX + name)
        trait = device_trait(name, value)
        # device_trait gives None for a missing value, so value is set.
        if trait is not None and value is not None:
            found[name] = (value, trait)
    return found


def machine_type_traits(arch: str, machine_type: str) -> tuple[str, str]:
    """(offer trait, deprecation trait) of a versioned machine type."""
    return (traits.machine_type_trait(arch, machine_type),
            traits.deprecated_machine_type_trait(arch, machine_type))


class Offers:
    """How many resource providers carry a trait, asked once per trait.

    ``client`` is a :class:`nova_hwabi.placement.PlacementClient`; its
    ``PlacementError`` subclasses propagate.
    Custom traits Placement does not know count as carried by none
    (asking for an unknown trait is an HTTP 400).
    """

    def __init__(self, client: PlacementClient) -> None:
        self._client = client
        self._counts: dict[str, int] = {}
        self._custom: dict[str, set[str]] = {}

    def hosts_with(self, trait: str) -> int:
        """Providers carrying ``trait`` (0 for an unknown custom trait)."""
        if trait not in self._counts:
            if os_traits.is_custom(trait) and not self._known(trait):
                self._counts[trait] = 0
            else:
                self._counts[trait] = self._client.providers_with_trait(
                    trait)
        return self._counts[trait]

    def _known(self, trait: str) -> bool:
        for prefix in (traits.DEPRECATED_MACHINE_TRAIT_PREFIX,
                       traits.MACHINE_TRAIT_PREFIX):
            if trait.startswith(prefix):
                if prefix not in self._custom:
                    self._custom[prefix] = self._client.existing_traits(
                        prefix)
                return trait in self._custom[prefix]
        return bool(self._client.existing_traits(trait) & {trait})

    def any_reported(self, names: Iterable[str]) -> bool:
        """True when some provider carries at least one of ``names``."""
        return any(self.hosts_with(name) for name in names)

    def reports_device_traits(self) -> bool:
        """True when some host reports Nova's device traits at all.

        Checked with the commonest member of each family (virtio disks,
        virtio or VGA video, virtio NICs): a libvirt host reports them.
        """
        return self.any_reported((
            os_traits.COMPUTE_STORAGE_BUS_VIRTIO,
            os_traits.COMPUTE_GRAPHICS_MODEL_VIRTIO,
            os_traits.COMPUTE_GRAPHICS_MODEL_VGA,
            os_traits.COMPUTE_NET_VIF_MODEL_VIRTIO,
        ))

    def existing_machine_type_traits(self) -> set[str]:
        """The machine-type traits Placement knows (asked once)."""
        if traits.MACHINE_TRAIT_PREFIX not in self._custom:
            self._custom[traits.MACHINE_TRAIT_PREFIX] = (
                self._client.existing_traits(traits.MACHINE_TRAIT_PREFIX))
        return self._custom[traits.MACHINE_TRAIT_PREFIX]

    def reports_machine_types(self) -> bool:
        """True when some host reports nova-hwabi's machine-type traits."""
        return bool(self.existing_machine_type_traits())


def unoffered(offers: Offers, system_metadata: Mapping[str, str],
              arch: str | None) -> list[str]:
    """What no compute host offers of one instance's records, as reasons.

    Checks each recorded device bus/model (when some host reports device
    traits at all) and the pinned versioned machine type (pin, else the
    record; when some host reports machine-type traits and ``arch`` is
    known). Empty when every record is offered somewhere or nothing can
    be told. ``PlacementError`` propagates.
    """
    found = []
    if offers.reports_device_traits():
        for name, (value, trait) in sorted(
                device_traits(system_metadata).items()):
            if not offers.hosts_with(trait):
                found.append("no compute host offers %s=%s (%s)"
                             % (name, value, trait))
    machine_type = (system_metadata.get(PINNED_KEY)
                    or system_metadata.get(RECORDED_KEY))
    if machine_type and arch and offers.reports_machine_types():
        try:
            versioned = not names.parse_machine_type(machine_type).is_alias
        except names.UnsupportedMachineType:
            versioned = False
        offer, _ = machine_type_traits(arch, machine_type)
        if versioned and not offers.hosts_with(offer):
            found.append("no compute host offers machine type %s for %s "
                         "(%s)" % (machine_type, arch, offer))
    return found


class MachineTypeOffers:
    """``offered_for(arch, machine_type)`` for ``machine-type update`` and
    ``transition``: what Placement says hosts offer, as
    :func:`nova_hwabi.machine_type.arches.check_machine_type_arch` takes it.

    Calling it gives ``{machine_type}`` when some resource provider
    carries the type's ``CUSTOM_HWABI_MACHINE_<ARCH>_<TYPE>`` trait, an
    empty set when hosts report ``arch``'s machine types and none carries
    it, and None when Placement cannot tell: ``[placement]`` not usable,
    Placement failing, or no host reporting ``arch``'s machine types (the
    opt-in ``[hwabi_capabilities] report_machine_type_traits``). Then
    :attr:`skipped` says why in one line, for the caller to show; answers
    are cached per (arch, machine type).
    """

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        from nova_hwabi import placement

        self._placement = placement
        self.skipped: str | None = None
        self._answers: dict[tuple[str, str], set[str] | None] = {}
        try:
            self._offers: Offers | None = Offers(
                placement.PlacementClient.from_conf(conf))
            self._unusable = None
        except placement.PlacementError as exc:
            self._offers, self._unusable = None, str(exc)

    def __call__(self, arch: str, machine_type: str) -> set[str] | None:
        key = (arch, machine_type)
        if key not in self._answers:
            self._answers[key] = self._ask(arch, machine_type)
        return self._answers[key]

    def _ask(self, arch: str, machine_type: str) -> set[str] | None:
        if self._offers is None:
            self.skipped = self._unusable
            return None
        offer, _ = machine_type_traits(arch, machine_type)
        try:
            reported = self._offers.existing_machine_type_traits()
            arch_prefix = traits.machine_type_trait(arch, "")
            if not any(name.startswith(arch_prefix) for name in reported):
                self.skipped = (
                    "no compute host reports its %s machine types to "
                    "Placement ([hwabi_capabilities] "
                    "report_machine_type_traits)" % arch)
                return None
            return {machine_type} if self._offers.hosts_with(offer) \
                else set()
        except self._placement.PlacementError as exc:
            LOG.debug("Placement failed on %s", offer, exc_info=True)
            self.skipped = "Placement failed: %s" % exc
            return None
