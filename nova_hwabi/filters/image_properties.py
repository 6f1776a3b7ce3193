"""Drop-in ImagePropertiesFilter: upstream checks plus correct image bits.

Keeps upstream's architecture / hypervisor type / VM mode / hypervisor
version checks and adds: ``hw_maxphysaddr_bits`` is checked for every
emulated request whether or not arch properties are set, against cpu_info
decoded from its JSON string (upstream calls ``.get`` on the string), with
the same unknown-bits policy as ComputeCapabilitiesFilter; the image is
parsed once per request and a bad ``img_hv_requested_version`` or an
invalid maxphysaddr request rejects hosts with a reason.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Final

from nova.objects import fields
from oslo_utils import versionutils

from nova_hwabi.address_space import (
    AddressSpaceRequestError,
    translate,
)
from nova_hwabi.filters import base, host_data


@dataclass(frozen=True, slots=True)
class Prepared:
    """The image as this filter needs it, built once per request."""

    # The canonical arch / hypervisor type / VM mode the image asks for,
    # without the ones it leaves open; empty: nothing to check.
    instance_props: tuple[str, ...] = ()
    version_predicate: versionutils.VersionPredicate | None = None
    min_bits: int | None = None
    bits_policy: str = "reject"
    error: str | None = None
    # Request-local memos: hypervisor_version -> satisfied, cpu_info
    # string -> bits reason (hosts of one model share one), and
    # host_data.SUPPORTED_INSTANCES_KEYS number -> instance reason.
    version_results: dict[int, bool] = field(default_factory=dict)
    bits_reasons: dict[int, str | None] = field(default_factory=dict)
    supported_reasons: dict[int, str | None] = field(default_factory=dict)


def _instance_props(image_props: Any) -> tuple[str | None, ...]:
    arch = image_props.get(
        "hw_architecture",
        base.CONF.filter_scheduler.image_properties_default_architecture,
    )
    return (
        fields.Architecture.canonicalize(arch),
        fields.HVType.canonicalize(image_props.get("img_hv_type")),
        fields.VMMode.canonicalize(image_props.get("hw_vm_mode")),
    )


class _Memo(enum.Enum):
    """A memo entry's state before it is worked out (a typed sentinel)."""

    NOT_SEEN = enum.auto()


_NOT_SEEN: Final = _Memo.NOT_SEEN


def _supported_reason(supported: Any,
                      props: tuple[str, ...]) -> str | None:
    """Why a host with ``supported`` instances cannot run ``props``."""
    if not supported:
        return "host advertises no supported_instances"
    if not _supports(supported, props):
        return "image needs %s; host supports %s" % (
            "/".join(props),
            ", ".join("/".join(map(str, i)) for i in supported),
        )
    return None


def _supports(supported: Any, props: tuple[str, ...]) -> bool:
    """True if one [arch, hv_type, vm_mode] entry has every prop."""
    for instance in supported:
        for prop in props:
            if prop not in instance:
                break
        else:
            return True
    return False


class ImagePropertiesFilter(base.PrefilteredHostFilter[Prepared]):
    """Hosts that support the image's arch, hypervisor, mode and bits."""

    RUN_ON_REBUILD = True
    # Image properties and host capabilities do not change within a request.
    run_filter_once_per_request = True

    def prepare(self, spec_obj: Any) -> Prepared:
        """Canonicalise the image's properties once per request."""
        image = spec_obj.image if "image" in spec_obj else None
        image_props = image.properties if image else {}
        flavor = spec_obj.flavor if "flavor" in spec_obj else None
        extra_specs = (flavor.extra_specs if flavor is not None
                       and "extra_specs" in flavor else None)
        try:
            request = translate(extra_specs, image_props,
                                legacy_bits_only=True)
            props = _instance_props(image_props)
            required_version = image_props.get("img_hv_requested_version")
            predicate = (versionutils.VersionPredicate(required_version)
                         if required_version else None)
        except (AddressSpaceRequestError, ValueError) as exc:
            base.LOG.warning("ImagePropertiesFilter: instance %s cannot be "
                             "placed: %s", spec_obj.instance_uuid, exc)
            return Prepared(error=str(exc))
        return Prepared(
            instance_props=tuple(prop for prop in props if prop),
            version_predicate=predicate,
            min_bits=(request.min_host_bits if request.bits_from("image")
                      else None),
            bits_policy=base.unknown_bits_policy(),
        )

    def passes_every_host(self, prepared: Prepared) -> bool:
        """No arch / hypervisor type / VM mode, no bits, no error."""
        return (prepared.error is None and not prepared.instance_props
                and prepared.min_bits is None)

    def memo_path(self, prepared: Prepared) -> base.MemoPath | None:
        """For an image that sets only architecture / hypervisor type / VM
        mode, the answer per distinct supported_instances value."""
        if (prepared.error is not None or not prepared.instance_props
                or prepared.version_predicate is not None
                or prepared.min_bits is not None):
            return None
        return base.MemoPath(host_data.supported_instances_values,
                             prepared.supported_reasons,
                             host_data.SUPPORTED_INSTANCES_KEYS)

    def reject_reason(self, host_state: Any,
                      prepared: Prepared) -> str | None:
        """Why ``host_state`` cannot run the image, or None."""
        if prepared.error is not None:
            return prepared.error
        if prepared.instance_props:
            reason = self._instance_reason(host_state, prepared)
            if reason is not None:
                return reason
        min_bits = prepared.min_bits
        if min_bits is not None:
            return self._bits_reason(host_state, prepared, min_bits)
        return None

    @staticmethod
    def _bits_reason(host_state: Any, prepared: Prepared,
                     min_bits: int) -> str | None:
        cpu_info = getattr(host_state, "cpu_info", None)
        key = host_data.CPU_INFO_KEYS.key(cpu_info)
        memo = prepared.bits_reasons
        if key is not None and key in memo:
            return memo[key]
        reason = base.bits_reason(
            host_data.cpu_info_bits(cpu_info), min_bits,
            prepared.bits_policy, "image",
        )
        if key is not None:
            memo[key] = reason
        return reason

    def _instance_reason(self, host_state: Any,
                         prepared: Prepared) -> str | None:
        supported = host_state.supported_instances
        # Worked out once per distinct supported_instances value and
        # request, as cpu_info is once per distinct string.
        key = host_data.SUPPORTED_INSTANCES_KEYS.key(supported)
        memo = prepared.supported_reasons
        reason = memo.get(key, _NOT_SEEN) if key is not None else _NOT_SEEN
        if reason is _NOT_SEEN:
            reason = _supported_reason(supported, prepared.instance_props)
            if key is not None:
                memo[key] = reason
        if reason is not None:
            return reason
        predicate = prepared.version_predicate
        if predicate is not None and not self._version_ok(
            host_state.hypervisor_version, predicate, prepared
        ):
            return "hypervisor version %s does not satisfy %s" % (
                host_state.hypervisor_version,
                predicate,
            )
        return None

    @staticmethod
    def _version_ok(hypervisor_version: int | None,
                    predicate: versionutils.VersionPredicate,
                    prepared: Prepared) -> bool:
        if not hypervisor_version:
            return True
        cached = prepared.version_results.get(hypervisor_version)
        if cached is None:
            cached = predicate.satisfied_by(
                versionutils.convert_version_to_str(hypervisor_version)
            )
            prepared.version_results[hypervisor_version] = cached
        return cached
