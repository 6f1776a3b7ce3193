"""The recorded address width and the move bounds, as unit tables."""

import dataclasses

import pytest

from nova_hwabi import address_width as aw
from nova_hwabi import traits
from nova_hwabi.capabilities import (
    MaxPhysAddr,
    parse_guest_domain,
    parse_host_capabilities,
)
from nova_hwabi.capabilities.samples import load_sample
from nova_hwabi.machine_type import width_audit
from tests.conftest import (
    DOMAINS,
    PASSTHROUGH_48_BITS,
    PASSTHROUGH_NO_BITS,
    capabilities_fixture,
)

PT, EM = aw.PASSTHROUGH, aw.EMULATE

# id -> (guest <maxphysaddr>, host bits, width the guest runs with)
SPAWN = {
    "passthrough, 48-bit host": (MaxPhysAddr(PT), 48,
                                 aw.RecordedWidth(PT, 48)),
    "passthrough, 39-bit host": (MaxPhysAddr(PT), 39,
                                 aw.RecordedWidth(PT, 39)),
    "passthrough limit 46, 48-bit host": (
        MaxPhysAddr(PT, limit=46), 48, aw.RecordedWidth(PT, 46, 46)),
    "passthrough limit 48, 48-bit host": (
        MaxPhysAddr(PT, limit=48), 48, aw.RecordedWidth(PT, 48, 48)),
    "passthrough limit 46, 39-bit host": (
        MaxPhysAddr(PT, limit=46), 39, aw.RecordedWidth(PT, 39, 46)),
    "passthrough limit 52, 52-bit host": (
        MaxPhysAddr(PT, limit=52), 52, aw.RecordedWidth(PT, 52, 52)),
    "passthrough, host without bits": (MaxPhysAddr(PT), None, None),
    "passthrough limit, host without bits": (
        MaxPhysAddr(PT, limit=46), None, None),
    "emulate 40, 48-bit host": (
        MaxPhysAddr(EM, bits=40), 48, aw.RecordedWidth(EM, 40)),
    "emulate 40, host without bits": (
        MaxPhysAddr(EM, bits=40), None, aw.RecordedWidth(EM, 40)),
    "emulate without bits": (MaxPhysAddr(EM), 48, None),
    "no maxphysaddr": (None, 48, None),
}


@pytest.mark.parametrize(("guest", "host_bits", "expected"),
                         list(SPAWN.values()), ids=list(SPAWN))
def test_width_at_spawn(guest, host_bits, expected):
    assert aw.width_at_spawn(guest, host_bits) == expected


def _host_bits(caps):
    return caps.cpu.maxphysaddr.bits if caps.cpu.maxphysaddr else None


# Captured domains and host capabilities, through the real parsers.
# id -> (domain file, capabilities loader, expected system metadata)
CAPTURED = {
    "passthrough domain on the 48-bit passthrough host": (
        "pc-passthrough.xml",
        lambda: parse_host_capabilities(
            capabilities_fixture(PASSTHROUGH_48_BITS)),
        {aw.MODE_KEY: PT, aw.BITS_KEY: "48"}),
    "passthrough domain on the 39-bit host": (
        "pc-passthrough.xml",
        lambda: parse_host_capabilities(
            load_sample("x86_64-numa4-39bits").capabilities_xml),
        {aw.MODE_KEY: PT, aw.BITS_KEY: "39"}),
    "passthrough domain on a host without bits": (
        "pc-passthrough.xml",
        lambda: parse_host_capabilities(
            capabilities_fixture(PASSTHROUGH_NO_BITS)),
        {}),
    "emulate-46 domain on the 52-bit host": (
        "q35-emulate46.xml",
        lambda: parse_host_capabilities(
            load_sample("x86_64-passthrough-52bits").capabilities_xml),
        {aw.MODE_KEY: EM, aw.BITS_KEY: "46"}),
}


@pytest.mark.parametrize(("domain_file", "load_caps", "expected"),
                         list(CAPTURED.values()), ids=list(CAPTURED))
def test_width_at_spawn_from_captured_xml(domain_file, load_caps, expected):
    domain = parse_guest_domain((DOMAINS / domain_file).read_bytes())
    width = aw.width_at_spawn(domain.maxphysaddr, _host_bits(load_caps()))
    assert (width.to_system_metadata() if width else {}) == expected


def test_limit_is_parsed_from_a_domain():
    xml = (DOMAINS / "pc-passthrough.xml").read_text().replace(
        "<maxphysaddr mode='passthrough'/>",
        "<maxphysaddr mode='passthrough' limit='46'/>")
    domain = parse_guest_domain(xml)
    assert domain.maxphysaddr == MaxPhysAddr(PT, None, 46)
    assert aw.width_at_spawn(domain.maxphysaddr, 48).to_system_metadata() \
        == {aw.MODE_KEY: PT, aw.BITS_KEY: "46", aw.LIMIT_KEY: "46"}


# id -> (system metadata before, width now, keys set, keys removed)
CHANGES = {
    "first record": ({"image_hw_machine_type": "q35"},
                     aw.RecordedWidth(PT, 48),
                     {aw.MODE_KEY: PT, aw.BITS_KEY: "48"}, ()),
    "same width: nothing": ({aw.MODE_KEY: PT, aw.BITS_KEY: "48"},
                            aw.RecordedWidth(PT, 48), {}, ()),
    "moved to a wider host": ({aw.MODE_KEY: PT, aw.BITS_KEY: "48"},
                              aw.RecordedWidth(PT, 52),
                              {aw.BITS_KEY: "52"}, ()),
    "limit added": ({aw.MODE_KEY: PT, aw.BITS_KEY: "48"},
                    aw.RecordedWidth(PT, 46, 46),
                    {aw.BITS_KEY: "46", aw.LIMIT_KEY: "46"}, ()),
    "limit dropped": ({aw.MODE_KEY: PT, aw.BITS_KEY: "46",
                       aw.LIMIT_KEY: "46"},
                      aw.RecordedWidth(PT, 48), {aw.BITS_KEY: "48"},
                      (aw.LIMIT_KEY,)),
    "resized to emulate": ({aw.MODE_KEY: PT, aw.BITS_KEY: "48"},
                           aw.RecordedWidth(EM, 40),
                           {aw.MODE_KEY: EM, aw.BITS_KEY: "40"}, ()),
    "width unknown now: record removed": (
        {aw.MODE_KEY: PT, aw.BITS_KEY: "48", "other": "x"}, None, {},
        (aw.MODE_KEY, aw.BITS_KEY)),
    "nothing recorded, nothing known": ({}, None, {}, ()),
}


@pytest.mark.parametrize(("before", "width", "to_set", "to_unset"),
                         list(CHANGES.values()), ids=list(CHANGES))
def test_record_change(before, width, to_set, to_unset):
    assert aw.record_change(before, width) == (to_set, to_unset)


@pytest.mark.parametrize(("metadata", "expected"), [
    ({}, None),
    ({aw.MODE_KEY: PT, aw.BITS_KEY: "48"}, aw.RecordedWidth(PT, 48)),
    ({aw.MODE_KEY: PT, aw.BITS_KEY: "46", aw.LIMIT_KEY: "46"},
     aw.RecordedWidth(PT, 46, 46)),
    ({aw.MODE_KEY: EM, aw.BITS_KEY: "40"}, aw.RecordedWidth(EM, 40)),
], ids=["nothing", "passthrough", "passthrough with limit", "emulate"])
def test_recorded_width_reads_back(metadata, expected):
    assert aw.recorded_width(metadata) == expected
    if expected is not None:
        assert aw.recorded_width(expected.to_system_metadata()) == expected


@pytest.mark.parametrize(("metadata", "message"), [
    ({aw.MODE_KEY: "host"}, "expected emulate or passthrough"),
    ({aw.BITS_KEY: "48"}, "expected emulate or passthrough"),
    ({aw.MODE_KEY: PT}, "hwabi_maxphysaddr_bits = None"),
    ({aw.MODE_KEY: PT, aw.BITS_KEY: "forty"}, "'forty'"),
    ({aw.MODE_KEY: PT, aw.BITS_KEY: "64"}, "from 32 to 52"),
    ({aw.MODE_KEY: PT, aw.BITS_KEY: "48", aw.LIMIT_KEY: "-1"}, "'-1'"),
    ({aw.MODE_KEY: EM, aw.BITS_KEY: "40", aw.LIMIT_KEY: "40"},
     "only passthrough has a limit"),
], ids=["unknown mode", "bits without mode", "mode without bits",
        "bits not a number", "bits out of range", "negative limit",
        "limit on emulate"])
def test_recorded_width_refuses_what_it_did_not_write(metadata, message):
    with pytest.raises(aw.RecordedWidthError, match=message):
        aw.recorded_width(metadata)


@pytest.mark.parametrize(("task_state", "hints", "expected"), [
    ("migrating", {}, aw.LIVE),
    ("resize_prep", {}, aw.COLD),
    ("rebuilding", {}, aw.COLD),
    ("unshelving", {}, aw.COLD),
    ("rebuilding", {"_nova_check_type": ["rebuild"]}, None),
    ("migrating", {"_nova_check_type": ["rebuild"]}, None),
    (None, {}, None),
    ("scheduling", None, None),
    ("spawning", {}, None),
], ids=["live migration", "cold migration or resize", "evacuation",
        "unshelve", "rebuild", "rebuild hint wins", "no task",
        "new boot", "other task"])
def test_move_kind(task_state, hints, expected):
    assert aw.move_kind(task_state, hints) == expected


HOSTS = (39, 46, 48, 52)

# id -> (recorded width, policy, hosts (of HOSTS) the move may reach)
BOUNDS = {
    "passthrough 48, same": (aw.RecordedWidth(PT, 48), aw.SAME, {48}),
    "passthrough 48, at-least": (aw.RecordedWidth(PT, 48), aw.AT_LEAST,
                                 {48, 52}),
    "passthrough 48, any": (aw.RecordedWidth(PT, 48), aw.ANY, set(HOSTS)),
    "passthrough 52, same": (aw.RecordedWidth(PT, 52), aw.SAME, {52}),
    "passthrough 39, same": (aw.RecordedWidth(PT, 39), aw.SAME, {39}),
    "passthrough 39, at-least": (aw.RecordedWidth(PT, 39), aw.AT_LEAST,
                                 set(HOSTS)),
    "limit 46 reached, same": (aw.RecordedWidth(PT, 46, 46), aw.SAME,
                               {46, 48, 52}),
    "limit 46 reached, at-least": (aw.RecordedWidth(PT, 46, 46),
                                   aw.AT_LEAST, {46, 48, 52}),
    "limit 46 not reached (39), same": (aw.RecordedWidth(PT, 39, 46),
                                        aw.SAME, {39}),
    "limit 46 not reached (39), at-least": (aw.RecordedWidth(PT, 39, 46),
                                            aw.AT_LEAST, set(HOSTS)),
    "limit 46 not reached (39), any": (aw.RecordedWidth(PT, 39, 46),
                                       aw.ANY, set(HOSTS)),
    "emulate 46, same": (aw.RecordedWidth(EM, 46), aw.SAME, set(HOSTS)),
    "emulate 46, at-least": (aw.RecordedWidth(EM, 46), aw.AT_LEAST,
                             set(HOSTS)),
    "nothing recorded, same": (None, aw.SAME, set(HOSTS)),
}


def _admitted(bounds):
    return {bits for bits in HOSTS if bounds is None or bounds.admits(bits)}


def _ladder(bits, ladder_min=32):
    return {traits.bits_trait(n) for n in range(ladder_min, bits + 1)}


def _placement(bounds, ladder_min=32):
    """Hosts whose ladder satisfies the required and forbidden traits."""
    if bounds is None:
        return set(HOSTS)
    required, forbidden = aw.ladder_traits(bounds, ladder_min)
    return {bits for bits in HOSTS
            if required <= _ladder(bits, ladder_min)
            and not forbidden & _ladder(bits, ladder_min)}


@pytest.mark.parametrize("kind", [aw.LIVE, aw.COLD])
@pytest.mark.parametrize(("width", "policy", "expected"),
                         list(BOUNDS.values()), ids=list(BOUNDS))
def test_move_bounds_host_side_and_placement_side_agree(width, policy,
                                                        expected, kind):
    bounds = aw.move_bounds(width, policy, kind)
    assert _admitted(bounds) == expected
    assert _placement(bounds) == expected
    if bounds is not None:
        assert "%s_move_address_width = %s" % (kind, policy) in bounds.reason
        assert "%d address bits" % width.bits in bounds.reason


@pytest.mark.parametrize(("bounds", "ladder_min", "required", "forbidden"), [
    (aw.WidthBounds(48, 48, ""), 32, {48}, {49}),
    (aw.WidthBounds(48, None, ""), 32, {48}, set()),
    (aw.WidthBounds(52, 52, ""), 32, {52}, set()),
    (aw.WidthBounds(39, 39, ""), 40, set(), {40}),
    (aw.WidthBounds(39, None, ""), 40, set(), set()),
    (aw.WidthBounds(40, 40, ""), 40, {40}, {41}),
], ids=["exact", "at least", "exact at the top", "exact below the ladder",
        "at least below the ladder", "exact at the ladder's start"])
def test_ladder_traits(bounds, ladder_min, required, forbidden):
    assert aw.ladder_traits(bounds, ladder_min) == (
        frozenset(traits.bits_trait(n) for n in required),
        frozenset(traits.bits_trait(n) for n in forbidden))


def test_ladder_below_its_start_still_excludes_wider_hosts():
    # Hosts report the ladder from 40 up: a 39-bit guest's 'same' move
    # must still never reach a 46-bit host through Placement.
    bounds = aw.move_bounds(aw.RecordedWidth(PT, 39), aw.SAME, aw.LIVE)
    assert _placement(bounds, ladder_min=40) == {39}


def test_unknown_policy_is_refused():
    with pytest.raises(ValueError, match="unknown move policy 'exact'"):
        aw.move_bounds(aw.RecordedWidth(PT, 48), "exact", aw.LIVE)


def _domain(maxphysaddr):
    domain = parse_guest_domain((DOMAINS / "pc-passthrough.xml").read_bytes())
    return dataclasses.replace(domain, maxphysaddr=maxphysaddr)


# id -> (domain <maxphysaddr>, host bits, system metadata, status, bits)
AUDIT = {
    "as recorded": (MaxPhysAddr(PT), 48, {aw.MODE_KEY: PT,
                                          aw.BITS_KEY: "48"}, "ok", 48),
    "host wider than the record": (MaxPhysAddr(PT), 52, {
        aw.MODE_KEY: PT, aw.BITS_KEY: "48"}, "differs", 52),
    "limit reached on both": (MaxPhysAddr(PT, limit=46), 52, {
        aw.MODE_KEY: PT, aw.BITS_KEY: "46", aw.LIMIT_KEY: "46"}, "ok", 46),
    "limit not reached here": (MaxPhysAddr(PT, limit=46), 39, {
        aw.MODE_KEY: PT, aw.BITS_KEY: "46", aw.LIMIT_KEY: "46"},
        "differs", 39),
    "not recorded": (MaxPhysAddr(PT), 48, {}, "not recorded", 48),
    "host without bits": (MaxPhysAddr(PT), None, {
        aw.MODE_KEY: PT, aw.BITS_KEY: "48"}, "unknown", None),
    "unreadable record": (MaxPhysAddr(PT), 48, {
        aw.MODE_KEY: PT, aw.BITS_KEY: "x"}, "unknown", 48),
}


@pytest.mark.parametrize(("guest", "host_bits", "metadata", "status",
                          "on_host"), list(AUDIT.values()), ids=list(AUDIT))
def test_audit_domain(guest, host_bits, metadata, status, on_host):
    row = width_audit.audit_domain(_domain(guest), host_bits, metadata)
    assert (row.status, row.on_host) == (status, on_host)
    assert row.finding == (status != "ok")


@pytest.mark.parametrize("guest", [None, MaxPhysAddr(EM, bits=40)],
                         ids=["no maxphysaddr", "emulate"])
def test_audit_skips_guests_that_are_not_passthrough(guest):
    assert width_audit.audit_domain(_domain(guest), 48, {}) is None
