"""Reading host records: cpu_info JSON, bits, capability paths."""

import json
from types import SimpleNamespace

import pytest

from nova_hwabi.filters import host_data


def host(**attributes):
    return SimpleNamespace(**attributes)


@pytest.mark.parametrize(("cpu_info", "bits"), [
    (json.dumps({"maxphysaddr": {"mode": "emulate", "bits": 46}}), 46),
    ({"maxphysaddr": {"mode": "emulate", "bits": 46}}, 46),
    (json.dumps({"maxphysaddr": {"bits": "48"}}), 48),
    (json.dumps({"arch": "x86_64"}), None),
    (json.dumps({"maxphysaddr": None}), None),
    (json.dumps({"maxphysaddr": {"bits": "many"}}), None),
    (json.dumps({"maxphysaddr": {"bits": True}}), None),
    (json.dumps(["not", "an", "object"]), None),
    ("cpu_info", None),
    ("", None),
    (None, None),
    (42, None),
])
def test_host_bits(cpu_info, bits):
    assert host_data.host_bits(host(cpu_info=cpu_info)) == bits


def test_missing_cpu_info_attribute_is_unknown():
    assert host_data.host_bits(object()) is None


def test_decoded_strings_are_cached_and_equal_strings_share():
    text = json.dumps({"vendor": "Intel"})
    first = host_data.decode_json_object(text)
    again = host_data.decode_json_object("".join(text))
    assert first is again
    assert first == {"vendor": "Intel"}


def test_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(host_data, "_CACHE_LIMIT", 3)
    monkeypatch.setattr(host_data, "_decoded", {})
    for n in range(10):
        host_data.decode_json_object(json.dumps({"n": n}))
    assert len(host_data._decoded) <= 3


@pytest.mark.parametrize(("record", "scope", "value"), [
    (host(cpu_info='{"vendor": "Intel"}'), ("cpu_info", "vendor"), "Intel"),
    (host(cpu_info='{"topology": {"cores": 4}}'),
     ("cpu_info", "topology", "cores"), 4),
    (host(stats={"opt1": {"a": 1}}), ("opt1", "a"), 1),
    (host(free_ram_mb=1024, stats={}), ("free_ram_mb",), 1024),
    (host(cpu_info="not json"), ("cpu_info", "vendor"), None),
    (host(cpu_info="{}"), ("cpu_info", "vendor"), None),
    (host(stats=None), ("nothing",), None),
    (None, ("anything",), None),
])
def test_resolve_capability(record, scope, value):
    assert host_data.resolve_capability(record, scope) == value


def test_has_capability_key():
    assert host_data.has_capability_key(host(a=1, stats={}), "a")
    assert host_data.has_capability_key(host(stats={"b": 2}), "b")
    assert not host_data.has_capability_key(host(stats=None), "c")


def _copy(text):
    # A distinct str object with the same value, as two HostStates hold.
    return "".join(list(text))


def test_identity_keys_name_values_not_objects():
    keys = host_data.IdentityKeys(lambda v: v if type(v) is str else None)
    first, same, other = "{\"arch\": \"x86_64\"}", None, "{}"
    same = _copy(first)
    assert same is not first
    assert keys.key(first) == keys.key(same) != keys.key(other)
    assert keys.lookup(id(same)) == keys.key(first)
    assert keys.key(42) is None


def test_identity_keys_never_reuse_numbers_after_clearing():
    keys = host_data.IdentityKeys(
        lambda v: v if type(v) is str else None, limit=2)
    values = [_copy("value-%d" % index) for index in range(5)]
    numbers = [keys.key(value) for value in values]
    assert len(set(numbers)) == 5
    # Cleared on the way; a value seen again keeps its answer's meaning:
    # a new number or its old one, never another value's.
    again = keys.key(values[0])
    assert again not in numbers[1:]


@pytest.mark.parametrize(("supported", "usable"), [
    ([["x86_64", "kvm", "hvm"]], True),
    ([("aarch64", "qemu", None)], True),
    ([], True),
    (None, False),
    ([["x86_64", 7, "hvm"]], False),
    ("x86_64", False),
])
def test_supported_instances_keys(supported, usable):
    key = host_data.SUPPORTED_INSTANCES_KEYS.key(supported)
    assert (key is not None) is usable
    if usable:
        copy = [list(item) for item in supported]
        assert host_data.SUPPORTED_INSTANCES_KEYS.key(copy) == key
