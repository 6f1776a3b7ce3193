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
from collections.abc import Callable, Hashable, Mapping
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
    data: object
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
    is the number, or None) is for hot loops, with :meth:`key` on a miss.
    The cache holds every object it has numbered (``_kept``), so while an
    id is cached its object is alive and no other live object can have
    that id: a hit needs no identity check and no tuple to read, which is
    one memory access less per host. Numbers are never reused, so clearing
    the bounded cache cannot make one value's answer another's. Relies on
    Nova replacing, never mutating, these values, as
    ``HostState._update_from_compute_node`` does: a host given a new
    record holds a new object, which is looked up afresh.
    """

    def __init__(self, hashable: Callable[[Any], Hashable | None],
                 limit: int = 65536) -> None:
        self._hashable = hashable
        self._limit = limit
        # id(object) -> number, and id(object) -> object (keeps it alive,
        # so that id is not reused while it is in _numbers_by_id).
        self._numbers_by_id: dict[int, int] = {}
        self._kept: dict[int, Any] = {}
        self._numbers: dict[Hashable, int] = {}
        self._next = itertools.count()
        self.lookup = self._numbers_by_id.get

    def key(self, value: Any) -> int | None:
        """The number naming ``value``; None when it has no usable value
        (the caller then checks that host on its own). Never raises."""
        number = self._numbers_by_id.get(id(value))
        if number is not None:
            return number
        hashable = self._hashable(value)
        if hashable is None:
            return None
        if len(self._kept) >= self._limit:
            # Numbers first: an id stays in _numbers_by_id only while its
            # object is in _kept. clear(), not new dicts: keeps lookup.
            self._numbers_by_id.clear()
            self._kept.clear()
        if len(self._numbers) >= self._limit:
            self._numbers.clear()
        number = self._numbers.get(hashable)
        if number is None:
            number = self._numbers[hashable] = next(self._next)
        self._kept[id(value)] = value
        self._numbers_by_id[id(value)] = number
        return number


def cpu_info_values(hosts: list[Any]) -> list[Any]:
    """Every host's ``cpu_info``, in order; None where a host has none."""
    try:
        # Plain attribute access: the interpreter specialises it, a third
        # faster than getattr() over 10,000 HostStates.
        return [host.cpu_info for host in hosts]
    except AttributeError:
        return [getattr(host, "cpu_info", None) for host in hosts]


def supported_instances_values(hosts: list[Any]) -> list[Any]:
    """Every host's ``supported_instances``, in order; None where a host
    has none."""
    try:
        return [host.supported_instances for host in hosts]
    except AttributeError:
        return [getattr(host, "supported_instances", None)
                for host in hosts]


def _hashable_cpu_info(value: Any) -> str | None:
    return value if type(value) is str else None


def _hashable_supported(
    supported: Any,
) -> tuple[tuple[str | None, ...], ...] | None:
    if not isinstance(supported, list | tuple):
        return None
    value: list[tuple[str | None, ...]] = []
    for instance in supported:
        if not isinstance(instance, list | tuple) or not all(
                item is None or isinstance(item, str) for item in instance):
            return None
        value.append(tuple(instance))
    return tuple(value)


# cpu_info strings (JSON) and supported_instances values, process-wide.
CPU_INFO_KEYS = IdentityKeys(_hashable_cpu_info)
SUPPORTED_INSTANCES_KEYS = IdentityKeys(_hashable_supported)
