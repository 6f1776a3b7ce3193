"""Property-based fuzzing: no input makes a parser raise anything else.

Mutations start from every real document we have (samples, captured
domains, written capabilities fixtures) so they reach deep into the
parsers, not just the XML layer.
"""

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nova_hwabi.capabilities import (
    CapabilitiesError,
    parse_domain_capabilities,
    parse_guest_domain,
    parse_host_capabilities,
)
from nova_hwabi.capabilities.samples import load_sample, sample_names
from tests.conftest import CAPABILITIES, DOMAINS

SEEDS = [
    (parse_host_capabilities, load_sample(name).capabilities_xml)
    for name in sample_names()
] + [
    (parse_host_capabilities, path.read_bytes())
    for path in sorted(CAPABILITIES.glob("*.xml"))
] + [
    (parse_domain_capabilities, load_sample(name).domain_capabilities_xml)
    for name in sample_names()
    if load_sample(name).domain_capabilities_xml
] + [
    (parse_guest_domain, path.read_bytes())
    for path in sorted(DOMAINS.glob("*.xml"))
]

# Fragments that turn valid values into the kinds of bad ones we expect
# from truncated files or hand-edited XML.
NASTY = [
    b"", b"-1", b"0", b"abc", b"99999999999999999999999", b"&amp;", b"&#0;",
    b"<", b">", b"'", b'"', b"<!--", b"]]>", b"<![CDATA[x]]>", b"\x00",
    b"\xff", b"yes", b"no", b"emulate", b"passthrough", b"<machine/>",
    b"<maxphysaddr mode='emulate' bits='x'/>", b"<topology/>",
    b"<cell id='z'/>", b"<cpus><cpu id='-3'/></cpus>",
]


def _parse(parser, document):
    # Returning normally or raising CapabilitiesError are both fine; any
    # other exception fails the test.
    with contextlib.suppress(CapabilitiesError):
        parser(document)


@st.composite
def mutated(draw):
    parser, seed = draw(st.sampled_from(SEEDS))
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["insert", "delete", "replace", "cut"]))
        if kind == "cut":
            del data[position:]
        elif kind == "delete":
            del data[position:position + draw(st.integers(1, 64))]
        else:
            fragment = draw(st.one_of(st.sampled_from(NASTY), st.binary(
                max_size=16
            )))
            end = position + (len(fragment) if kind == "replace" else 0)
            data[position:end] = fragment
    return parser, bytes(data)


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_real_documents_raise_only_capabilities_error(case):
    parser, document = case
    _parse(parser, document)


@st.composite
def attribute_swaps(draw):
    # Replace one attribute value with junk, keeping the XML well-formed,
    # so the typed accessors (not the XML layer) see the bad value.
    parser, seed = draw(st.sampled_from(SEEDS))
    text = seed.decode()
    quotes = [i for i, ch in enumerate(text) if ch == "'"]
    if len(quotes) < 2:
        return parser, seed
    pair = draw(st.integers(0, len(quotes) // 2 - 1))
    start, end = quotes[2 * pair], quotes[2 * pair + 1]
    junk = draw(st.sampled_from(
        ["", "-1", "0", "x", "1e9", "yes", "maybe", " 4", "4 ", "\u00e9"]
    ))
    return parser, (text[:start + 1] + junk + text[end:]).encode()


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(attribute_swaps())
def test_bad_attribute_values_raise_only_capabilities_error(case):
    parser, document = case
    _parse(parser, document)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.binary(max_size=512), st.text(max_size=512)))
def test_arbitrary_input_raises_only_capabilities_error(document):
    for parser in (
        parse_host_capabilities, parse_domain_capabilities, parse_guest_domain
    ):
        _parse(parser, document)
