"""Reading a HostState: decoded cpu_info, address bits, capability paths.

``HostState.cpu_info`` is the JSON string the compute node stored. Decoding
it for every host of every request is most of what upstream's filters
spend; here each distinct string is decoded once per process and reused
until the host reports a different one. Nothing here raises for a bad
host record: unusable data reads as absent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from nova_hwabi import values

# Distinct cpu_info strings kept decoded. Hosts of one hardware model share
# one string, so real fleets need a handful; the bound caps memory if
# something reports unique strings.
_CACHE_LIMIT = 16384
_decoded: dict[str, Mapping[str, Any] | None] = {}


def decode_json_object(value: Any) -> Mapping[str, Any] | None:
    """``value`` as a mapping: a dict as is, a JSON object string decoded.

    Anything else (invalid JSON, a JSON list, None) is None. Decoded
    strings are cached; treat the result as read-only.
    """
    if isinstance(value, dict):
        return value
    if not isinstance(value, str):
        return None
    try:
        return _decoded[value]
    except KeyError:
        pass
    try:
        data = json.loads(value)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        data = None
    if len(_decoded) >= _CACHE_LIMIT:
        _decoded.clear()
    _decoded[value] = data
    return data


def host_bits(host_state: Any) -> int | None:
    """The host's maxphysaddr bits from its cpu_info, or None if unknown."""
    return cpu_info_bits(getattr(host_state, "cpu_info", None))


def cpu_info_bits(value: Any) -> int | None:
    """maxphysaddr bits from a cpu_info (JSON string or dict), or None."""
    cpu_info = decode_json_object(value)
    if cpu_info is None:
        return None
    maxphysaddr = cpu_info.get("maxphysaddr")
    if not isinstance(maxphysaddr, dict):
        return None
    # The one integer parser: '²' passes str.isdigit() but not int().
    return values.parse_decimal(maxphysaddr.get("bits"))


def resolve_capability(host_state: Any, scope: tuple[str, ...]) -> Any:
    """Follow ``scope`` through a host: attributes, stats, JSON, dicts.

    The same walk as Nova's ComputeCapabilitiesFilter (an attribute of the
    host, else an entry of its ``stats``; a JSON string is decoded before
    looking inside it), returning None where upstream fails the host.
    """
    capability = host_state
    for name in scope:
        if isinstance(capability, str):
            capability = decode_json_object(capability)
            if capability is None:
                return None
        if isinstance(capability, dict):
            capability = capability.get(name)
        else:
            capability = _attribute_or_stat(capability, name)
        if capability is None:
            return None
    return capability


def _attribute_or_stat(obj: Any, name: str) -> Any:
    value = getattr(obj, name, None)
    if value is not None:
        return value
    stats = getattr(obj, "stats", None)
    if isinstance(stats, dict):
        return stats.get(name)
    return None


def has_capability_key(host_state: Any, key: str) -> bool:
    """Whether an unscoped extra-spec key names something on the host."""
    stats = getattr(host_state, "stats", None) or {}
    return hasattr(host_state, key) or key in stats
