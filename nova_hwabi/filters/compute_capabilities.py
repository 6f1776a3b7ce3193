"""Drop-in ComputeCapabilitiesFilter: typed extra specs, correct maxphysaddr.

Keeps upstream's behaviour for ``capabilities:`` keys (scoped and unscoped,
stats, JSON cpu_info, the operator syntax) and adds: the request is parsed
once; bad syntax or an invalid maxphysaddr request rejects hosts with a
reason instead of raising; ``hw:maxphysaddr_bits`` is checked as a number,
for emulated requests only, with the same unknown-bits policy as
ImagePropertiesFilter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nova_hwabi.filters import base, host_data
from nova_hwabi.filters.extra_specs import (
    Predicate,
    SpecSyntaxError,
    parse_requirement,
)
from nova_hwabi.request_filters.address_space import (
    AddressSpaceRequestError,
    translate,
)

_CAPABILITIES = "capabilities"


@dataclass(frozen=True, slots=True)
class CapabilityCheck:
    """One flavor extra spec to check against every host."""

    key: str
    scope: tuple[str, ...]
    unscoped: bool
    predicate: Predicate


@dataclass(frozen=True, slots=True)
class Prepared:
    """A request as this filter needs it, built once per request."""

    checks: tuple[CapabilityCheck, ...] = ()
    min_bits: int | None = None
    bits_policy: str = "reject"
    error: str | None = None


def _capability_checks(extra_specs: dict[str, str]):
    checks = []
    for key, requirement in extra_specs.items():
        scope = key.split(":")
        if len(scope) > 1 and scope[0] != _CAPABILITIES:
            continue  # another namespace (hw:, trait:...), not ours
        unscoped = len(scope) == 1
        path = tuple(scope if unscoped else scope[1:])
        try:
            predicate = parse_requirement(str(requirement))
        except SpecSyntaxError as exc:
            raise SpecSyntaxError(
                "flavor extra spec %s: %s" % (key, exc)
            ) from None
        checks.append(CapabilityCheck(key, path, unscoped, predicate))
    return tuple(checks)


class ComputeCapabilitiesFilter(base.PrefilteredHostFilter):
    """Hosts whose capabilities satisfy the flavor's extra specs."""

    # Flavor and host capabilities do not change within a request.
    run_filter_once_per_request = True
    RUN_ON_REBUILD = False

    def prepare(self, spec_obj: Any) -> Prepared:
        """Parse the flavor's extra specs and maxphysaddr request once."""
        flavor = spec_obj.flavor
        if "extra_specs" not in flavor:
            return Prepared()
        extra_specs = flavor.extra_specs
        image = spec_obj.image if "image" in spec_obj else None
        try:
            request = translate(
                extra_specs, image.properties if image else None,
                legacy_bits_only=True,
            )
            checks = _capability_checks(extra_specs)
        except (AddressSpaceRequestError, SpecSyntaxError) as exc:
            base.LOG.warning("ComputeCapabilitiesFilter: instance %s cannot "
                             "be placed: %s", spec_obj.instance_uuid, exc)
            return Prepared(error=str(exc))
        return Prepared(
            checks=checks,
            min_bits=(request.min_host_bits if request.bits_from("flavor")
                      else None),
            bits_policy=base.unknown_bits_policy(),
        )

    def reject_reason(self, host_state: Any, prepared: Prepared):
        """Why ``host_state`` fails the flavor, or None."""
        if prepared.error is not None:
            return prepared.error
        if prepared.min_bits is not None:
            reason = base.bits_reason(
                host_data.host_bits(host_state), prepared.min_bits,
                prepared.bits_policy, "flavor",
            )
            if reason is not None:
                return reason
        for check in prepared.checks:
            if check.unscoped and not host_data.has_capability_key(
                host_state, check.key
            ):
                continue  # a self-defined spec the host knows nothing of
            capability = host_data.resolve_capability(host_state, check.scope)
            if capability is None:
                return "no capability %s" % check.key
            if not check.predicate.matches(capability):
                return "%s = %r does not match %r" % (
                    check.key, capability, check.predicate.raw,
                )
        return None
