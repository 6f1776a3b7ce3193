"""Hostile and malformed XML: only CapabilitiesError, quickly, nothing read.

The time bounds here are safety properties (a hostile document cannot
stall a compute host), set far above normal parse times; they are not
performance targets, which live in benchmarks/.
"""

import time

import pytest

from nova_hwabi.capabilities import (
    CapabilitiesError,
    parse_domain_capabilities,
    parse_guest_domain,
    parse_host_capabilities,
)

PARSERS = {
    "capabilities": parse_host_capabilities,
    "domainCapabilities": parse_domain_capabilities,
    "domain": parse_guest_domain,
}
SAFETY_SECONDS = 5.0

BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(
        ' <!ENTITY lol%d "%s">\n' % (i, ("&lol%s;" % (i - 1 or "")) * 10)
        for i in range(1, 10)
    )
    + "]>\n<%s>&lol9;</%s>"
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?>\n'
    '<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    "<%s>&xxe;</%s>"
)
EXTERNAL_DTD = (
    '<?xml version="1.0"?>\n'
    '<!DOCTYPE r SYSTEM "http://127.0.0.1:9/evil.dtd">\n<%s/>%s'
)
UNDEFINED_ENTITY = "<%s>&undefined;</%s>"


def _hostile(root: str) -> dict[str, bytes]:
    deep = "<a>" * 100_000 + "</a>" * 100_000
    return {
        "billion laughs": (BILLION_LAUGHS % (root, root)).encode(),
        "billion laughs utf-16": (BILLION_LAUGHS % (root, root)).replace(
            'version="1.0"', 'version="1.0" encoding="UTF-16"'
        ).encode("utf-16"),
        "external entity": (EXTERNAL_ENTITY % (root, root)).encode(),
        "external dtd": (EXTERNAL_DTD % (root, "")).encode(),
        "undefined entity": (UNDEFINED_ENTITY % (root, root)).encode(),
        "deep nesting": ("<%s>%s</%s>" % (root, deep, root)).encode(),
        "many attributes": (
            "<%s %s/>" % (root, " ".join("a%d='1'" % i for i in range(50_000)))
        ).encode(),
        "oversize": b"<" + root.encode() + b">" + b" " * (5 * 1024 * 1024),
        "nul bytes": b"<" + root.encode() + b">\x00\x00</" + root.encode()
        + b">",
        "invalid utf-8": b"<" + root.encode() + b">\xff\xfe</"
        + root.encode() + b">",
        "lone surrogate str": "<%s>\ud800</%s>" % (root, root),
    }


CASES = [
    (root, name)
    for root in PARSERS
    for name in _hostile(root)
]


@pytest.mark.parametrize(("root", "case"), CASES)
def test_hostile_input_is_refused_quickly(root, case):
    document = _hostile(root)[case]
    started = time.monotonic()
    with pytest.raises(CapabilitiesError) as raised:
        PARSERS[root](document)
    assert time.monotonic() - started < SAFETY_SECONDS
    assert "passwd" not in str(raised.value)
    assert "root:" not in str(raised.value)


def test_doctype_refusal_names_the_problem():
    with pytest.raises(CapabilitiesError, match="DTDs and entity"):
        parse_host_capabilities(
            BILLION_LAUGHS % ("capabilities", "capabilities")
        )


def test_size_cap_is_configurable():
    document = b"<capabilities>" + b" " * 10_000 + b"</capabilities>"
    with pytest.raises(CapabilitiesError, match="more than the 4096 allowed"):
        parse_host_capabilities(document, max_bytes=4096)
    # Within a larger cap the same bytes get past the size check.
    with pytest.raises(CapabilitiesError, match="missing <host>"):
        parse_host_capabilities(document, max_bytes=20_000)


def test_comments_and_processing_instructions_are_ignored():
    document = (
        "<?xml version='1.0' encoding='UTF-8'?><!-- saved by virsh -->"
        "<capabilities><?pi x?><host><!-- c --><cpu><arch>x86_64</arch>"
        "<!-- <maxphysaddr mode='emulate' bits='52'/> --></cpu></host>"
        "</capabilities>"
    )
    caps = parse_host_capabilities(document)
    assert caps.cpu.maxphysaddr is None
