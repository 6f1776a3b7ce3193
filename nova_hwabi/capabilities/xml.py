"""Hardened XML parsing and typed accessors shared by the libvirt parsers.

libvirt documents are small, have no DTD and use no entities beyond the
predefined ones, so anything else is refused outright: no DOCTYPE (and so no
entity declarations, no billion laughs, no external entities), no network
or file access, a size cap checked before parsing, and libxml2's default
nesting limit. Every failure is turned into :class:`CapabilitiesError`.
"""

from __future__ import annotations

from typing import cast

from lxml import etree

from nova_hwabi import values
from nova_hwabi.capabilities.errors import CapabilitiesError
from nova_hwabi.conf.capabilities import DEFAULT_MAX_XML_BYTES

# One parser per process: lxml parsers are reusable and keeping the options
# in one place makes the hardening easy to review.
_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_blank_text=True,
    remove_comments=True,
    remove_pis=True,
    collect_ids=False,
)

_DOCTYPE_MARKERS = (b"<!DOCTYPE", b"<!ENTITY")


def _as_bytes(document: str | bytes) -> bytes:
    if isinstance(document, bytes):
        return document
    if isinstance(document, bytearray | memoryview):
        return bytes(document)
    if isinstance(document, str):
        try:
            return document.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise CapabilitiesError(
                "XML text is not valid Unicode (%s)" % exc.reason
            ) from None
    raise CapabilitiesError(
        "expected libvirt XML as str or bytes, got %s"
        % type(document).__name__
    )


def parse_document(
    document: str | bytes,
    root_tag: str,
    max_bytes: int = DEFAULT_MAX_XML_BYTES,
) -> etree._Element:
    """Parse ``document`` and return its root, which must be ``root_tag``.

    Raises :class:`CapabilitiesError` for anything that is not a well-formed
    document of that kind within ``max_bytes``.
    """
    data = _as_bytes(document)
    if len(data) > max_bytes:
        raise CapabilitiesError(
            "<%s> document is %d bytes, more than the %d allowed "
            "([hwabi_capabilities] max_xml_bytes)"
            % (root_tag, len(data), max_bytes)
        )
    if not data.strip():
        raise CapabilitiesError("<%s> document is empty" % root_tag)
    for marker in _DOCTYPE_MARKERS:
        if marker in data:
            raise CapabilitiesError(
                "<%s> document contains %s: DTDs and entity declarations "
                "are not accepted in libvirt XML"
                % (root_tag, marker.decode())
            )
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise CapabilitiesError(
            "<%s> document is not well-formed XML: %s"
            % (root_tag, exc.msg or exc)
        ) from None
    except (ValueError, etree.LxmlError) as exc:
        raise CapabilitiesError(
            "<%s> document could not be parsed: %s" % (root_tag, exc)
        ) from None
    # The byte scan above cannot see markers in UTF-16/32 input; the parsed
    # document tells the truth whatever its encoding.
    if root.getroottree().docinfo.doctype:
        raise CapabilitiesError(
            "<%s> document has a DOCTYPE: DTDs are not accepted in libvirt "
            "XML" % root_tag
        )
    if root.tag != root_tag:
        raise CapabilitiesError(
            "expected a <%s> document, got <%s>"
            % (root_tag, element_tag(root))
        )
    return root


def element_tag(element: etree._Element) -> str:
    """The tag of a parsed element.

    lxml types ``tag`` as str, bytes or QName because a tag set by hand is
    stored as given; a tag from the parser is always str.
    """
    return cast(str, element.tag)


def required_text(element: etree._Element, where: str) -> str:
    """The stripped text of ``element``; it must not be empty."""
    text = element.text
    if text is None or not text.strip():
        raise CapabilitiesError("%s: expected text, found none" % where)
    return text.strip()


def optional_text(element: etree._Element) -> str | None:
    """The stripped text of ``element`` or None when it is empty."""
    text = element.text
    if text is None:
        return None
    return text.strip() or None


def parse_int(value: str | None, where: str, *, minimum: int = 0) -> int:
    """``value`` as an integer >= ``minimum``; ``where`` names its place."""
    if value is None:
        raise CapabilitiesError("%s: missing, expected an integer" % where)
    number = values.parse_decimal(value)
    if number is None:
        text = value.strip()
        if text[:1] == "-" and values.parse_decimal(text[1:]) is not None:
            raise CapabilitiesError(
                "%s: expected an integer >= %d, got %s"
                % (where, minimum, text[:40])
            )
        raise CapabilitiesError(
            "%s: expected an integer, got %r" % (where, value[:40])
        )
    if number < minimum:
        raise CapabilitiesError(
            "%s: expected an integer >= %d, got %d" % (where, minimum, number)
        )
    return number


def optional_int(
    value: str | None, where: str, *, minimum: int = 0
) -> int | None:
    """Like :func:`parse_int` but None when the attribute is absent."""
    if value is None:
        return None
    return parse_int(value, where, minimum=minimum)


def yes_no(value: str | None, where: str, *, default: bool = False) -> bool:
    """libvirt's ``yes``/``no`` (also ``on``/``off``) flags."""
    if value is None:
        return default
    if value in ("yes", "on"):
        return True
    if value in ("no", "off"):
        return False
    raise CapabilitiesError(
        "%s: expected 'yes' or 'no', got %r" % (where, value[:40])
    )


def one_of(value: str | None, where: str, allowed: tuple[str, ...]) -> str:
    """``value`` if it is one of ``allowed``."""
    if value not in allowed:
        shown = None if value is None else value[:40]
        raise CapabilitiesError(
            "%s: expected one of %s, got %r"
            % (where, ", ".join(allowed), shown)
        )
    return value
