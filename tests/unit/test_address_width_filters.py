"""The address_width request filter and AddressWidthFilter, as tables.

Nova RequestSpecs and HostStates (cpu_info as the JSON string
nova-compute stores); only the database read of the moving instance is
replaced. Every option value, for live and cold moves, with and without
the bits ladder: Placement's answer is worked out from the traits each
host reports (``CUSTOM_HWABI_MAXPHYSADDR_BITS_32`` up to its bits).
"""

import json
import logging

import pytest
from oslo_config import fixture as config_fixture

from nova_hwabi import address_width as aw
from nova_hwabi import conf as hwabi_conf
from nova_hwabi import traits
from nova_hwabi.filters import base
from nova_hwabi.filters.address_width import AddressWidthFilter
from nova_hwabi.request_filters import address_width as rf
from nova_hwabi.request_filters import moving
from nova_hwabi.testing import inprocess

PASSTHROUGH = {"hw:maxphysaddr_mode": "passthrough"}
EMULATE_46 = {"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "46"}
RECORDED_48 = {aw.MODE_KEY: "passthrough", aw.BITS_KEY: "48"}
HOST_BITS = (39, 46, 48, 52)
TASK_STATE = {aw.LIVE: "migrating", aw.COLD: "resize_prep"}
EXPECTED = {aw.SAME: {48}, aw.AT_LEAST: {48, 52}, aw.ANY: set(HOST_BITS)}


class _Context:
    def elevated(self):
        return self


def _cpu_info(bits):
    return json.dumps({
        "arch": "x86_64", "model": "Icelake-Server", "vendor": "Intel",
        "topology": {"cells": 1, "sockets": 1, "cores": 4, "threads": 2},
        "maxphysaddr": {"mode": "passthrough", "bits": bits},
        "features": ["vmx"],
    })


def _hosts(*bits):
    return {b: inprocess.host_state(inprocess.compute_node(
        index, _cpu_info(b) if b is not None else json.dumps({})))
        for index, b in enumerate(bits)}


@pytest.fixture
def conf_fixture():
    """Nova's CONF (the host filter's) with our options, restored after."""
    fixture = config_fixture.Config(base.CONF)
    fixture.setUp()
    yield fixture
    fixture.cleanUp()


@pytest.fixture
def instance(monkeypatch):
    """Replace the database read; returns a setter and the call log."""
    calls = []
    state = {"found": None}

    def fake(ctxt, instance_uuid):
        calls.append(instance_uuid)
        if isinstance(state["found"], Exception):
            raise state["found"]
        return state["found"]

    monkeypatch.setattr(moving, "moving_instance", fake)

    def set_instance(task_state, metadata, error=None):
        state["found"] = error or moving.MovingInstance(
            uuid="11111111-2222-4333-8444-555555555555",
            task_state=task_state, system_metadata=metadata)
    set_instance.calls = calls
    return set_instance


def _configure(conf_fixture, kind, policy, ladder):
    other = aw.ANY if policy != aw.ANY else aw.SAME
    live, cold = (policy, other) if kind == aw.LIVE else (other, policy)
    conf_fixture.config(group="hwabi_scheduler",
                        live_move_address_width=live,
                        cold_move_address_width=cold,
                        require_bits_ladder=ladder)


def _placement_answer(spec, hosts):
    answer = set()
    for bits in hosts:
        reported = {traits.bits_trait(n) for n in range(32, bits + 1)}
        if spec.root_required <= reported and not (
                spec.root_forbidden & reported):
            answer.add(bits)
    return answer


@pytest.mark.parametrize("ladder", [True, False], ids=["ladder",
                                                        "no ladder"])
@pytest.mark.parametrize("kind", [aw.LIVE, aw.COLD])
@pytest.mark.parametrize("policy", aw.POLICIES)
def test_every_option_value(conf_fixture, instance, policy, kind, ladder):
    _configure(conf_fixture, kind, policy, ladder)
    instance(TASK_STATE[kind], RECORDED_48)
    hosts = _hosts(*HOST_BITS)
    spec = inprocess.request_spec(PASSTHROUGH)

    added = rf.address_width_filter(base.CONF, _Context(), spec)

    if ladder:
        # Placement alone returns exactly the allowed hosts.
        assert added == (policy != aw.ANY)
        assert _placement_answer(spec, HOST_BITS) == EXPECTED[policy]
    else:
        assert not added
        assert not spec.root_required and not spec.root_forbidden
    # The host filter is the exact check either way.
    passed = list(AddressWidthFilter().filter_all(hosts.values(), spec))
    assert {bits for bits, host in hosts.items()
            if host in passed} == EXPECTED[policy]


@pytest.mark.parametrize("task_state", ["rebuilding", "unshelving"],
                         ids=["evacuation", "unshelve"])
def test_evacuation_and_unshelve_are_cold_moves(conf_fixture, instance,
                                                task_state):
    conf_fixture.config(group="hwabi_scheduler", live_move_address_width="any",
                     cold_move_address_width="same",
                     require_bits_ladder=True)
    instance(task_state, RECORDED_48)
    spec = inprocess.request_spec(PASSTHROUGH)
    assert rf.address_width_filter(base.CONF, _Context(), spec)
    assert spec.root_required == {traits.bits_trait(48)}
    assert spec.root_forbidden == {traits.bits_trait(49)}


@pytest.mark.parametrize(("extra_specs", "task_state", "hints", "metadata",
                          "looked_up"), [
    (PASSTHROUGH, None, {}, RECORDED_48, True),
    (PASSTHROUGH, "rebuilding", {"_nova_check_type": ["rebuild"]},
     RECORDED_48, False),
    (EMULATE_46, "migrating", {}, {aw.MODE_KEY: "emulate",
                                   aw.BITS_KEY: "46"}, False),
    ({}, "migrating", {}, RECORDED_48, False),
    (PASSTHROUGH, "migrating", {}, {}, True),
    ({"hw:maxphysaddr_mode": "passthrough", "hw:maxphysaddr_bits": "40"},
     "migrating", {}, RECORDED_48, False),
], ids=["new boot", "rebuild", "emulated guest",
        "resized to a flavor without passthrough", "nothing recorded",
        "invalid request"])
def test_requests_left_alone(conf_fixture, instance, extra_specs, task_state,
                             hints, metadata, looked_up):
    conf_fixture.config(group="hwabi_scheduler", require_bits_ladder=True)
    instance(task_state, metadata)
    spec = inprocess.request_spec(extra_specs)
    spec.scheduler_hints = hints
    hosts = _hosts(*HOST_BITS)
    assert not rf.address_width_filter(base.CONF, _Context(), spec)
    assert not spec.root_required and not spec.root_forbidden
    assert list(AddressWidthFilter().filter_all(hosts.values(), spec)) == \
        list(hosts.values())
    assert bool(instance.calls) == looked_up


def test_instance_in_no_cell_is_a_new_boot(conf_fixture, instance):
    # The fixture starts with no instance: moving_instance returns None,
    # as it does for an instance mapped to no cell yet.
    conf_fixture.config(group="hwabi_scheduler", require_bits_ladder=True)
    spec = inprocess.request_spec(PASSTHROUGH)
    assert not rf.address_width_filter(base.CONF, _Context(), spec)
    assert instance.calls == [spec.instance_uuid]
    assert not spec.root_required and not spec.root_forbidden


def test_bad_record_is_logged_and_the_move_goes_on(conf_fixture, instance,
                                                   caplog):
    conf_fixture.config(group="hwabi_scheduler", require_bits_ladder=True)
    instance("migrating", {aw.MODE_KEY: "passthrough", aw.BITS_KEY: "lots"})
    spec = inprocess.request_spec(PASSTHROUGH)
    assert not rf.address_width_filter(base.CONF, _Context(), spec)
    assert "recorded address width not usable" in caplog.text
    assert "'lots'" in caplog.text


def test_database_error_in_the_host_filter_lets_every_host_pass(
        conf_fixture, instance, caplog):
    instance("migrating", RECORDED_48, error=RuntimeError("cell down"))
    hosts = list(_hosts(*HOST_BITS).values())
    spec = inprocess.request_spec(PASSTHROUGH)
    assert list(AddressWidthFilter().filter_all(hosts, spec)) == hosts
    assert "recorded width not read" in caplog.text
    assert "cell down" in caplog.text


@pytest.mark.parametrize(("policy", "passes"), [("reject", False),
                                                ("accept", True)])
def test_host_without_bits_follows_unknown_host_bits(conf_fixture, instance,
                                                     policy, passes):
    conf_fixture.config(group="hwabi_scheduler", unknown_host_bits=policy)
    instance("migrating", RECORDED_48)
    host = _hosts(None)[None]
    spec = inprocess.request_spec(PASSTHROUGH)
    assert list(AddressWidthFilter().filter_all([host], spec)) == (
        [host] if passes else [])


def test_no_host_left_is_logged_with_the_width_and_why(conf_fixture, instance,
                                                       caplog):
    caplog.set_level(logging.INFO, logger="nova_hwabi")
    instance("migrating", RECORDED_48)
    hosts = _hosts(39, 46, 52)
    spec = inprocess.request_spec(PASSTHROUGH)
    assert list(AddressWidthFilter().filter_all(hosts.values(), spec)) == []
    line = [r.getMessage() for r in caplog.records
            if "rejected 3 of 3" in r.getMessage()]
    assert line and r"exactly 48 bits" in line[0]
    assert "passthrough guest runs with 48 address bits" in line[0]
    assert "live_move_address_width = same" in line[0]
    assert "maxphysaddr bits 46" in line[0]


def test_request_filter_logs_the_traits(conf_fixture, instance, caplog):
    caplog.set_level(logging.INFO, logger="nova_hwabi")
    conf_fixture.config(group="hwabi_scheduler", require_bits_ladder=True)
    instance("migrating", RECORDED_48)
    spec = inprocess.request_spec(PASSTHROUGH)
    assert rf.address_width_filter(base.CONF, _Context(), spec)
    assert ("destination must have exactly 48 bits (passthrough guest runs "
            "with 48 address bits, live_move_address_width = same): "
            "Placement requires CUSTOM_HWABI_MAXPHYSADDR_BITS_48 and forbids "
            "CUSTOM_HWABI_MAXPHYSADDR_BITS_49") in caplog.text


def test_options_default_and_choices():
    conf = hwabi_conf.new_config()
    conf([])
    assert conf.hwabi_scheduler.live_move_address_width == "same"
    assert conf.hwabi_scheduler.cold_move_address_width == "at-least"
    assert "address_width" in conf.hwabi_scheduler.request_filters
    with pytest.raises(ValueError):
        conf.set_override("live_move_address_width", "exact",
                          group="hwabi_scheduler")
