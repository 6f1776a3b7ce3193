"""A DOCTYPE alone gets a libvirt document refused, in every encoding.

Each document here is a valid libvirt document plus a DOCTYPE that
declares nothing: it is refused for the DOCTYPE and for nothing else,
which the same bytes without the DOCTYPE prove by parsing. The hardened
parser (nova_hwabi/capabilities/xml.py) looks for DOCTYPE twice: a byte
scan before parsing, which sees ASCII-compatible input only, and a look
at the parsed tree, for UTF-16/32 (and UTF-7) input whose markup the scan
cannot see. Every public parser goes through both.
"""

import codecs
import re
from unittest import mock

import pytest

from nova_hwabi.capabilities import (
    CapabilitiesError,
    parse_domain_capabilities,
    parse_guest_domain,
    parse_host_capabilities,
)
from nova_hwabi.capabilities import xml as hardened_xml
from nova_hwabi.capabilities.samples import load_sample
from tests.conftest import DOMAINS, PASSTHROUGH_48_BITS, capabilities_fixture

# root element -> (public parser, a valid document of that kind)
DOCUMENTS = {
    "capabilities": (
        parse_host_capabilities, capabilities_fixture(PASSTHROUGH_48_BITS),
    ),
    "domainCapabilities": (
        parse_domain_capabilities,
        load_sample("x86_64-kvm-debian12").domain_capabilities_xml,
    ),
    "domain": (
        parse_guest_domain, (DOMAINS / "q35-emulate46.xml").read_bytes(),
    ),
}

# DOCTYPEs that declare no entity and load nothing (load_dtd is off), so
# they change nothing in the parsed document.
DOCTYPES = {
    "bare": "<!DOCTYPE {root}>",
    "empty internal subset": "<!DOCTYPE {root} []>",
    "system id": '<!DOCTYPE {root} SYSTEM "{root}.dtd">',
}

# Both refusal messages: "contains <!DOCTYPE: DTDs and entity declarations
# are not accepted" (byte scan) and "has a DOCTYPE: DTDs are not accepted"
# (parsed tree).
DOCTYPE_REASON = re.compile(r"DOCTYPE: DTDs (and entity declarations )?are "
                            r"not accepted in libvirt XML")


def _utf7_hiding_markup(text: str) -> bytes:
    # UTF-7 may base64-encode "!" ("+ACE-"), so "<!DOCTYPE" need not
    # appear in the bytes at all; libxml2 decodes it through iconv.
    return text.encode("utf-7").replace(b"<!", b"<+ACE-")


# id -> (encoding named in the XML declaration or None for no
# declaration, text -> document). "bom" is a byte order mark; without one
# libxml2 detects UTF-16/32 from the first characters "<?" or "<".
ENCODINGS = {
    "str": (None, lambda text: text),
    "utf-8": (None, lambda text: text.encode("utf-8")),
    "utf-8 declared": ("UTF-8", lambda text: text.encode("utf-8")),
    "utf-8 bom": ("UTF-8", lambda text: text.encode("utf-8-sig")),
    "utf-16le bom": ("UTF-16", lambda text: codecs.BOM_UTF16_LE
                     + text.encode("utf-16-le")),
    "utf-16be bom": ("UTF-16", lambda text: codecs.BOM_UTF16_BE
                     + text.encode("utf-16-be")),
    "utf-16le bom undeclared": (None, lambda text: codecs.BOM_UTF16_LE
                                + text.encode("utf-16-le")),
    "utf-16le no bom": ("UTF-16", lambda text: text.encode("utf-16-le")),
    "utf-16be no bom": ("UTF-16", lambda text: text.encode("utf-16-be")),
    "utf-32le bom": ("UTF-32", lambda text: codecs.BOM_UTF32_LE
                     + text.encode("utf-32-le")),
    "utf-32be bom": ("UTF-32", lambda text: codecs.BOM_UTF32_BE
                     + text.encode("utf-32-be")),
    "utf-32le no bom": ("UTF-32", lambda text: text.encode("utf-32-le")),
    "utf-32be no bom": (None, lambda text: text.encode("utf-32-be")),
    "utf-7": ("UTF-7", _utf7_hiding_markup),
}
# Encodings in which "<!DOCTYPE" is plain ASCII bytes: the byte scan
# refuses these before libxml2 sees them.
ASCII_COMPATIBLE = ("str", "utf-8", "utf-8 declared", "utf-8 bom")


def _document(root: str, encoding: str, doctype: str | None):
    """The valid ``root`` document in ``encoding``, with ``doctype``."""
    declared, encode = ENCODINGS[encoding]
    body = DOCUMENTS[root][1].decode("utf-8")
    assert not body.startswith("<?xml")
    text = ""
    if declared:
        text += '<?xml version="1.0" encoding="%s"?>\n' % declared
    if doctype:
        text += DOCTYPES[doctype].format(root=root) + "\n"
    return encode(text + body)


CASES = [
    pytest.param(root, encoding, doctype,
                 id="%s-%s-%s" % (root, encoding, doctype))
    for root in DOCUMENTS
    for encoding in ENCODINGS
    for doctype in DOCTYPES
]


@pytest.mark.parametrize(("root", "encoding"), [
    pytest.param(root, encoding, id="%s-%s" % (root, encoding))
    for root in DOCUMENTS for encoding in ENCODINGS
])
def test_same_document_without_doctype_parses(root, encoding):
    # The control: whatever refuses the cases below is the DOCTYPE.
    parser = DOCUMENTS[root][0]
    assert parser(_document(root, encoding, None)) == parser(
        DOCUMENTS[root][1]
    )


@pytest.mark.parametrize(("root", "encoding", "doctype"), CASES)
def test_doctype_alone_is_refused(root, encoding, doctype):
    parser = DOCUMENTS[root][0]
    with pytest.raises(CapabilitiesError) as raised:
        parser(_document(root, encoding, doctype))
    assert raised.type is CapabilitiesError
    message = str(raised.value)
    assert DOCTYPE_REASON.search(message), message
    assert message.startswith("<%s> document " % root)


@pytest.mark.parametrize(("root", "encoding"), [
    pytest.param(root, encoding, id="%s-%s" % (root, encoding))
    for root in DOCUMENTS for encoding in ASCII_COMPATIBLE
])
def test_ascii_compatible_doctype_never_reaches_libxml2(root, encoding):
    # Entity declarations live in the DOCTYPE: refusing it by its bytes
    # keeps hostile DTDs away from the parser altogether.
    parser = DOCUMENTS[root][0]
    with (
        mock.patch.object(hardened_xml.etree, "fromstring",
                          side_effect=AssertionError("parsed")) as parse,
        pytest.raises(CapabilitiesError, match=DOCTYPE_REASON),
    ):
        parser(_document(root, encoding, "bare"))
    parse.assert_not_called()
