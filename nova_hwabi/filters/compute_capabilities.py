"""Drop-in ComputeCapabilitiesFilter: typed extra specs, correct maxphysaddr.

Keeps upstream's behaviour for ``capabilities:`` keys (scoped and unscoped,
stats, JSON cpu_info, the operator syntax) and adds: the request is parsed
once; bad syntax or an invalid maxphysaddr request rejects hosts with a
reason instead of raising; ``hw:maxphysaddr_bits`` is checked as a number,
for emulated requests only, with the same unknown-bits policy as
ImagePropertiesFilter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nova_hwabi.address_space import (
    AddressSpaceRequestError,
    translate,
)
from nova_hwabi.filters import base, host_data
from nova_hwabi.filters.extra_specs import (
    Predicate,
    SpecSyntaxError,
    parse_requirement,
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
    """A request as this filter needs it, built once per request.

    ``cpu_info_checks`` (with the bits check) depend on the host's
    cpu_info alone. Hosts of one hardware model share one cpu_info string,
    so their outcome is worked out once per distinct string and kept in
    ``cpu_info_reasons``, which lives as long as the request.
    ``host_checks`` read other host attributes and run for every host.
    """

    cpu_info_checks: tuple[CapabilityCheck, ...] = ()
    host_checks: tuple[CapabilityCheck, ...] = ()
    min_bits: int | None = None
    bits_policy: str = "reject"
    error: str | None = None
    needs_cpu_info: bool = False
    # host_data.CPU_INFO_KEYS number -> reason
    cpu_info_reasons: dict[int, str | None] = field(default_factory=dict)


def _capability_checks(extra_specs: Mapping[str, Any],
                       mode: str) -> tuple[CapabilityCheck, ...]:
    checks: list[CapabilityCheck] = []
    for key, requirement in extra_specs.items():
        scope = key.split(":")
        if len(scope) > 1 and scope[0] != _CAPABILITIES:
            continue  # another namespace (hw:, trait:...), not ours
        unscoped = len(scope) == 1
        path = tuple(scope if unscoped else scope[1:])
        try:
            predicate = parse_requirement(str(requirement), mode)
        except SpecSyntaxError as exc:
            raise SpecSyntaxError(
                "flavor extra spec %s: %s" % (key, exc)
            ) from None
        checks.append(CapabilityCheck(key, path, unscoped, predicate))
    return tuple(checks)


class ComputeCapabilitiesFilter(base.PrefilteredHostFilter[Prepared]):
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
            checks = _capability_checks(
                extra_specs, base.CONF.hwabi_scheduler.capabilities_operators)
        except (AddressSpaceRequestError, SpecSyntaxError) as exc:
            base.LOG.warning("ComputeCapabilitiesFilter: instance %s cannot "
                             "be placed: %s", spec_obj.instance_uuid, exc)
            return Prepared(error=str(exc))
        cpu_info_checks = tuple(c for c in checks if _reads_cpu_info(c))
        min_bits = (request.min_host_bits if request.bits_from("flavor")
                    else None)
        return Prepared(
            cpu_info_checks=cpu_info_checks,
            host_checks=tuple(c for c in checks if not _reads_cpu_info(c)),
            min_bits=min_bits,
            bits_policy=base.unknown_bits_policy(),
            needs_cpu_info=min_bits is not None or bool(cpu_info_checks),
        )

    def passes_every_host(self, prepared: Prepared) -> bool:
        """No capabilities: keys, no bits and no error: nothing to check."""
        return (prepared.error is None and not prepared.needs_cpu_info
                and not prepared.host_checks)

    def memo_path(self, prepared: Prepared) -> base.MemoPath | None:
        """For the common request (cpu_info checks only), the answer per
        distinct cpu_info string."""
        if (prepared.error is not None or prepared.host_checks
                or not prepared.needs_cpu_info):
            return None
        return base.MemoPath(host_data.cpu_info_values,
                             prepared.cpu_info_reasons,
                             host_data.CPU_INFO_KEYS)

    def reject_reason(self, host_state: Any,
                      prepared: Prepared) -> str | None:
        """Why ``host_state`` fails the flavor, or None."""
        if prepared.error is not None:
            return prepared.error
        if prepared.needs_cpu_info:
            reason = _cpu_info_reason(host_state, prepared)
            if reason is not None:
                return reason
        for check in prepared.host_checks:
            if check.unscoped and not host_data.has_capability_key(
                host_state, check.key
            ):
                continue  # a self-defined spec the host knows nothing of
            reason = _check_reason(
                check, host_data.resolve_capability(host_state, check.scope)
            )
            if reason is not None:
                return reason
        return None


def _reads_cpu_info(check: CapabilityCheck) -> bool:
    """Scoped ``capabilities:cpu_info:...`` keys read cpu_info only."""
    return (not check.unscoped and len(check.scope) > 1
            and check.scope[0] == "cpu_info")


def _cpu_info_reason(host_state: Any, prepared: Prepared) -> str | None:
    cpu_info = getattr(host_state, "cpu_info", None)
    if type(cpu_info) is not str:
        # A dict (or nothing, when Nova's walk falls back to the host's
        # stats), or a str subclass, which CPU_INFO_KEYS does not number:
        # work this host out on its own.
        return _cpu_info_checks_reason(
            prepared, host_data.host_bits(host_state),
            lambda check: host_data.resolve_capability(host_state,
                                                       check.scope),
        )
    # Hosts of one model share one value: worked out once per request.
    # An exact str always gets a number (see _hashable_cpu_info).
    key: int = host_data.CPU_INFO_KEYS.key(  # type: ignore[assignment]
        cpu_info)
    memo = prepared.cpu_info_reasons
    try:
        return memo[key]
    except KeyError:
        reason = memo[key] = _cpu_info_checks_reason(
            prepared, host_data.cpu_info_bits(cpu_info),
            lambda check: host_data.resolve_capability(cpu_info,
                                                       check.scope[1:]),
        )
        return reason


def _cpu_info_checks_reason(
    prepared: Prepared, bits: int | None,
    resolve: Callable[[CapabilityCheck], Any],
) -> str | None:
    if prepared.min_bits is not None:
        reason = base.bits_reason(bits, prepared.min_bits,
                                  prepared.bits_policy, "flavor")
        if reason is not None:
            return reason
    for check in prepared.cpu_info_checks:
        reason = _check_reason(check, resolve(check))
        if reason is not None:
            return reason
    return None


def _check_reason(check: CapabilityCheck, capability: Any) -> str | None:
    if capability is None:
        return "no capability %s" % check.key
    if not check.predicate.matches(capability):
        return "%s = %r does not match %r" % (
            check.key, capability, check.predicate.raw,
        )
    return None


def _passes(check: CapabilityCheck | None, host_state: Any) -> bool:
    """Whether one parsed check passes a host (None: refused syntax)."""
    if check is None:
        return False
    if check.unscoped and not host_data.has_capability_key(host_state,
                                                           check.key):
        return True
    return _check_reason(
        check, host_data.resolve_capability(host_state, check.scope)
    ) is None


def _checks_by_key(extra_specs: Mapping[str, Any],
                   mode: str) -> dict[str, CapabilityCheck | None]:
    checks: dict[str, CapabilityCheck | None] = {}
    for key, requirement in extra_specs.items():
        try:
            found = _capability_checks({key: requirement}, mode)
        except SpecSyntaxError:
            checks[key] = None
            continue
        if found:
            checks[key] = found[0]
    return checks


def operator_mode_differences(
    extra_specs: dict[str, str], host_states: Any, mode: str, other: str,
) -> dict[str, list[Any]]:
    """The hosts whose answer to each ``capabilities:`` spec changes.

    ``extra_specs`` is a flavor's; ``host_states`` are Nova HostStates (or
    anything with the same attributes). Each spec is parsed in operator
    mode ``mode`` and in ``other`` (``nova`` / ``typed``, see
    :mod:`nova_hwabi.filters.extra_specs`) and checked on every host, as
    ComputeCapabilitiesFilter checks it. Returns {extra spec key: [hosts
    that pass in one mode and fail in the other]}, only keys with such
    hosts. Never raises for a bad spec or host.
    """
    ours = _checks_by_key(extra_specs, mode)
    theirs = _checks_by_key(extra_specs, other)
    hosts = list(host_states)
    differences: dict[str, list[Any]] = {}
    for key in sorted(set(ours) | set(theirs)):
        a, b = ours.get(key), theirs.get(key)
        if a is not None and b is not None and a.predicate.raw == \
                b.predicate.raw and a.predicate.op not in _MODE_SENSITIVE:
            continue
        differing = [host for host in hosts
                     if _passes(a, host) != _passes(b, host)]
        if differing:
            differences[key] = differing
    return differences


# The operators whose reading depends on [hwabi_scheduler]
# capabilities_operators.
_MODE_SENSITIVE = ("<in>", "<all-in>", "<or>")
