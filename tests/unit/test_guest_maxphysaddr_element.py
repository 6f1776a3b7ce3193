"""AddressSpaceRequest.guest_cpu_element, table-driven.

Proves, for requests built by ``translate()`` (or directly where
``translate()`` refuses the shape, such as emulate without bits), over the
shipped sample hosts and libvirt versions on both sides of each gate:

- what is rendered: the exact ``<maxphysaddr>`` string, or None when no
  mode is asked for (even on libvirt too old for the element);
- what is refused: the exact exception class (the ``Unsupported``
  subclass for host/version limits, the base ``AddressSpaceRequestError``
  for an out-of-range limit) and the part of the message an operator acts
  on;
- which check wins when several apply (version first, then the limit with
  emulate, then cpu_mode before the limit's version and range);
- every rendered string is XML the project's own domain parser reads back
  as the requested mode, bits and limit.
"""

from functools import cache
from typing import NamedTuple

import pytest

from nova_hwabi.address_space import (
    EMULATE,
    FLAVOR_BITS,
    FLAVOR_MODE,
    IMAGE_MODE,
    AddressSpaceRequest,
    AddressSpaceRequestError,
    AddressSpaceUnsupportedError,
    translate,
)
from nova_hwabi.capabilities import (
    HostCapabilities,
    LibvirtVersion,
    MaxPhysAddr,
    parse_guest_domain,
    parse_host_capabilities,
)
from nova_hwabi.capabilities.samples import load_sample

# Sample hosts by the width their capabilities report.
BITS_46 = "x86_64-kvm-debian12"
BITS_39 = "x86_64-numa4-39bits"
BITS_52 = "x86_64-passthrough-52bits"
NO_WIDTH = "x86_64-no-maxphysaddr-libvirt8"

UNSUPPORTED = AddressSpaceUnsupportedError
INVALID = AddressSpaceRequestError


class Refused(NamedTuple):
    """An expected refusal: the exact class and a message fragment."""

    error: type[Exception]
    fragment: str


def emulate(bits: int) -> AddressSpaceRequest:
    """An emulated width as a flavor asks for it."""
    return translate({FLAVOR_MODE: "emulate", FLAVOR_BITS: str(bits)}, None)


NO_REQUEST = translate({}, {})
# Bits without a mode, kept only for Nova 34's host filters: the guest
# gets no <maxphysaddr>, so nothing is rendered.
LEGACY_BITS = translate({FLAVOR_BITS: "40"}, None, legacy_bits_only=True)
PASSTHROUGH = translate(None, {IMAGE_MODE: "passthrough"})
# translate() refuses emulate without bits, but the element supports it
# from libvirt 9.2.0 (libvirt then picks the width), so build it directly.
EMULATE_NO_BITS = AddressSpaceRequest(mode=EMULATE, bits=None)

ELEMENT_EMULATE_NO_BITS = "<maxphysaddr mode='emulate'/>"
ELEMENT_PASSTHROUGH = "<maxphysaddr mode='passthrough'/>"


def emulated(bits: int) -> str:
    return "<maxphysaddr mode='emulate' bits='%d'/>" % bits


def limited(limit: int) -> str:
    return "<maxphysaddr mode='passthrough' limit='%d'/>" % limit


def case(case_id, asked, host, version, expected, *, cpu_mode=None,
         limit=None):
    """One row: render ``asked`` for ``host`` at libvirt ``version``."""
    return pytest.param(asked, host, version, cpu_mode, limit, expected,
                        id=case_id)


RENDERED = [
    case("no-request", NO_REQUEST, BITS_46, "9.0.0", None),
    # Nothing asked for: no version check, so old hosts still boot guests.
    case("no-request-libvirt-8.0", NO_REQUEST, NO_WIDTH, "8.0.0", None),
    case("legacy-bits-only", LEGACY_BITS, BITS_46, "9.0.0", None),
    case("emulate-40-on-46", emulate(40), BITS_46, "9.0.0", emulated(40)),
    case("emulate-first-version", emulate(46), BITS_46, "8.7.0",
         emulated(46)),
    case("emulate-equal-to-host", emulate(39), BITS_39, "9.5.0",
         emulated(39)),
    case("emulate-52-on-52", emulate(52), BITS_52, "10.0.0", emulated(52)),
    case("emulate-minimum", emulate(32), BITS_39, "9.5.0", emulated(32)),
    # A host that reports no width cannot be compared against: the
    # element is rendered and libvirt has the last word at define time.
    case("emulate-host-without-width", emulate(52), NO_WIDTH, "9.0.0",
         emulated(52)),
    # cpu_mode only constrains passthrough.
    case("emulate-ignores-cpu-mode", emulate(40), BITS_46, "9.0.0",
         emulated(40), cpu_mode="host-model"),
    case("emulate-no-bits-9.2.0", EMULATE_NO_BITS, BITS_46, "9.2.0",
         ELEMENT_EMULATE_NO_BITS),
    case("emulate-no-bits-10.0.0", EMULATE_NO_BITS, BITS_39, "10.0.0",
         ELEMENT_EMULATE_NO_BITS),
    case("passthrough-first-version", PASSTHROUGH, BITS_46, "8.7.0",
         ELEMENT_PASSTHROUGH),
    case("passthrough-host-passthrough", PASSTHROUGH, BITS_52, "10.0.0",
         ELEMENT_PASSTHROUGH, cpu_mode="host-passthrough"),
    case("passthrough-limit-9.3.0", PASSTHROUGH, BITS_46, "9.3.0",
         limited(40), cpu_mode="host-passthrough", limit=40),
    case("passthrough-limit-minimum", PASSTHROUGH, BITS_46, "10.0.0",
         limited(32), limit=32),
    # A limit caps the host's width; one above it is not an error.
    case("passthrough-limit-above-host", PASSTHROUGH, BITS_39, "10.0.0",
         limited(52), limit=52),
]

REFUSED = [
    case("emulate-libvirt-8.6", emulate(40), BITS_46, "8.6.0",
         Refused(UNSUPPORTED,
                 "libvirt 8.6.0 has no <maxphysaddr> (needs 8.7.0 or "
                 "later)")),
    case("passthrough-libvirt-8.0", PASSTHROUGH, NO_WIDTH, "8.0.0",
         Refused(UNSUPPORTED, "libvirt 8.0.0 has no <maxphysaddr>")),
    # The version is checked before the width.
    case("version-before-width", emulate(47), BITS_46, "8.6.0",
         Refused(UNSUPPORTED, "libvirt 8.6.0 has no <maxphysaddr>")),
    case("emulate-no-bits-9.1.0", EMULATE_NO_BITS, BITS_46, "9.1.0",
         Refused(UNSUPPORTED,
                 "libvirt 9.1.0 needs bits with mode emulate (optional "
                 "from 9.2.0)")),
    case("emulate-no-bits-9.0.0", EMULATE_NO_BITS, BITS_46, "9.0.0",
         Refused(UNSUPPORTED, "libvirt 9.0.0 needs bits")),
    case("emulate-47-on-46", emulate(47), BITS_46, "9.0.0",
         Refused(UNSUPPORTED,
                 "asks for 47 address bits but this host has 46")),
    case("emulate-40-on-39", emulate(40), BITS_39, "9.5.0",
         Refused(UNSUPPORTED,
                 "asks for 40 address bits but this host has 39")),
    case("emulate-with-limit", emulate(40), BITS_46, "10.0.0",
         Refused(UNSUPPORTED, "a limit applies to passthrough only"),
         limit=40),
    # The limit is refused before the missing bits are looked at.
    case("emulate-no-bits-with-limit", EMULATE_NO_BITS, BITS_46, "9.0.0",
         Refused(UNSUPPORTED, "a limit applies to passthrough only"),
         limit=40),
    case("passthrough-host-model", PASSTHROUGH, BITS_46, "9.0.0",
         Refused(UNSUPPORTED,
                 "needs [libvirt] cpu_mode = host-passthrough, this host "
                 "uses host-model"),
         cpu_mode="host-model"),
    case("passthrough-custom", PASSTHROUGH, BITS_52, "10.0.0",
         Refused(UNSUPPORTED, "this host uses custom"), cpu_mode="custom"),
    case("passthrough-limit-9.2.0", PASSTHROUGH, BITS_46, "9.2.0",
         Refused(UNSUPPORTED,
                 "libvirt 9.2.0 cannot limit passthrough bits (needs "
                 "9.3.0)"),
         limit=40),
    case("passthrough-limit-31", PASSTHROUGH, BITS_46, "10.0.0",
         Refused(INVALID, "passthrough limit = 31: expected 32 to 52"),
         limit=31),
    case("passthrough-limit-53", PASSTHROUGH, BITS_52, "10.0.0",
         Refused(INVALID, "passthrough limit = 53: expected 32 to 52"),
         cpu_mode="host-passthrough", limit=53),
    # An old libvirt is reported before the limit's range.
    case("limit-version-before-range", PASSTHROUGH, BITS_46, "9.0.0",
         Refused(UNSUPPORTED, "cannot limit passthrough bits"), limit=31),
    # The wrong cpu_mode is reported before anything about the limit.
    case("cpu-mode-before-limit", PASSTHROUGH, BITS_46, "9.0.0",
         Refused(UNSUPPORTED, "this host uses host-model"),
         cpu_mode="host-model", limit=31),
]

ARGS = ("asked", "host", "version", "cpu_mode", "limit", "expected")


@cache
def sample_host(name: str) -> HostCapabilities:
    return parse_host_capabilities(load_sample(name).capabilities_xml)


def render(asked, host, version, cpu_mode, limit):
    return asked.guest_cpu_element(
        sample_host(host), LibvirtVersion.parse(version),
        cpu_mode=cpu_mode, limit=limit,
    )


def test_sample_widths_are_what_the_table_assumes():
    # The refusals above depend on these widths; a changed sample must
    # fail here rather than quietly move a case to the other side.
    widths = {name: sample_host(name).cpu.maxphysaddr
              for name in (BITS_46, BITS_39, BITS_52, NO_WIDTH)}
    assert widths == {
        BITS_46: MaxPhysAddr("emulate", 46),
        BITS_39: MaxPhysAddr("emulate", 39),
        BITS_52: MaxPhysAddr("emulate", 52),
        NO_WIDTH: None,
    }


@pytest.mark.parametrize(ARGS, RENDERED)
def test_rendered_element(asked, host, version, cpu_mode, limit,
                          expected):
    assert render(asked, host, version, cpu_mode, limit) == expected


@pytest.mark.parametrize(ARGS, REFUSED)
def test_refused_request(asked, host, version, cpu_mode, limit,
                         expected):
    with pytest.raises(AddressSpaceRequestError) as excinfo:
        render(asked, host, version, cpu_mode, limit)
    # Exact class: Unsupported is a subclass of RequestError, and callers
    # treat "this host cannot" differently from "this request is wrong".
    assert type(excinfo.value) is expected.error
    assert expected.fragment in str(excinfo.value)


@pytest.mark.parametrize(
    ARGS, [p for p in RENDERED if p.values[-1] is not None]
)
def test_rendered_element_parses_back(asked, host, version, cpu_mode,
                                      limit, expected):
    element = render(asked, host, version, cpu_mode, limit)
    document = (
        "<domain type='kvm'><uuid>00000000-0000-0000-0000-000000000001"
        "</uuid><cpu>%s</cpu></domain>" % element
    )
    parsed = parse_guest_domain(document).maxphysaddr
    assert parsed == MaxPhysAddr(asked.mode, asked.bits, limit)
