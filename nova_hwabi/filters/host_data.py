"""Reading a HostState: decoded cpu_info, address bits, capability paths.

``HostState.cpu_info`` is the JSON string the compute node stored. Decoding
it for every host of every request is most of what upstream's filters
spend; here each distinct string is decoded once per process and reused
until the host reports a different one. Nothing here raises for a bad
host record: unusable data reads as absent.
"""

from __future__ import annotations

import itertools
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


class IdentityKeys:
    """Small numbers naming the values of one host attribute, by identity.

    ``HostState.update()`` copies ``cpu_info`` (a JSON string of a few
    hundred bytes) and builds ``supported_instances`` (a list of
    ``[arch, hv_type, vm_mode]`` lists) from the ComputeNode record, and
    keeps them until the record changes; hosts of one hardware model hold
    equal values in distinct objects. A filter keeps one answer per
    distinct value and request; finding it for a host by the value itself
    means hashing and comparing the whole string or list, which costs as
    much as the check. Each object is mapped, by identity, to the number
    naming its value instead, so the per-host cost is one lookup that
    never reads the value.

    :meth:`key` is the full lookup; :attr:`lookup` (``lookup(id(value))``
    is None or ``(object, number)``, valid only when ``object is value``)
    is for hot loops, with :meth:`key` on a miss. Each entry holds its
    object, so an id cannot be reused while it is cached. Numbers are never
    reused, so clearing the bounded cache cannot make one value's answer
    another's. Relies on Nova replacing, never mutating, these values, as
    ``HostState._update_from_compute_node`` does.
    """

    def __init__(self, hashable, limit: int = 65536) -> None:
        self._hashable = hashable
        self._limit = limit
        self._by_id: dict[int, tuple[Any, int]] = {}
        self._numbers: dict[Any, int] = {}
        self._next = itertools.count()
        self.lookup = self._by_id.get

    def key(self, value: Any) -> int | None:
        """The number naming ``value``; None when it has no usable value
        (the caller then checks that host on its own). Never raises."""
        entry = self._by_id.get(id(value))
        if entry is not None and entry[0] is value:
            return entry[1]
        hashable = self._hashable(value)
        if hashable is None:
            return None
        if len(self._by_id) >= self._limit:
            self._by_id.clear()  # clear(), not a new dict: keeps lookup
        if len(self._numbers) >= self._limit:
            self._numbers.clear()
        number = self._numbers.get(hashable)
        if number is None:
            number = self._numbers[hashable] = next(self._next)
        self._by_id[id(value)] = (value, number)
        return number


def _hashable_cpu_info(value: Any) -> str | None:
    return value if type(value) is str else None


def _hashable_supported(supported: Any):
    if not isinstance(supported, list | tuple):
        return None
    value = []
    for instance in supported:
        if not isinstance(instance, list | tuple) or not all(
                item is None or isinstance(item, str) for item in instance):
            return None
        value.append(tuple(instance))
    return tuple(value)


# cpu_info strings (JSON) and supported_instances values, process-wide.
CPU_INFO_KEYS = IdentityKeys(_hashable_cpu_info)
SUPPORTED_INSTANCES_KEYS = IdentityKeys(_hashable_supported)
