"""maxphysaddr requests: flavor extra specs + image properties, typed once.

:func:`translate` reads ``hw:maxphysaddr_mode`` / ``hw:maxphysaddr_bits``
(flavor) and ``hw_maxphysaddr_mode`` / ``hw_maxphysaddr_bits`` (image) into
one :class:`AddressSpaceRequest`: the mode and width, where each came from,
the traits Placement must find on the host, and the width the host filters
must check. Everything invalid raises :class:`AddressSpaceRequestError`
with a message saying what to change.

The same request renders the guest CPU ``<maxphysaddr>`` element on the
compute side, checked against the host and its libvirt version. Used by
the API validators (:mod:`nova_hwabi.validators.maxphysaddr`), the host
filters, the request filters (:mod:`nova_hwabi.request_filters.address_space`
requires the traits) and the compute driver.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from nova_hwabi import traits, values
from nova_hwabi.capabilities.model import HostCapabilities
from nova_hwabi.capabilities.versions import MIN_MAXPHYSADDR, LibvirtVersion
from nova_hwabi.conf.capabilities import MAX_BITS, MIN_BITS

EMULATE = "emulate"
PASSTHROUGH = "passthrough"
MODES = (EMULATE, PASSTHROUGH)

FLAVOR_MODE = "hw:maxphysaddr_mode"
FLAVOR_BITS = "hw:maxphysaddr_bits"
IMAGE_MODE = "hw_maxphysaddr_mode"
IMAGE_BITS = "hw_maxphysaddr_bits"

# libvirt releases that changed what <maxphysaddr> accepts.
EMULATE_WITHOUT_BITS = LibvirtVersion(9, 2, 0)
PASSTHROUGH_LIMIT = LibvirtVersion(9, 3, 0)


class AddressSpaceRequestError(ValueError):
    """A maxphysaddr request that cannot be honoured as written."""


class AddressSpaceUnsupportedError(AddressSpaceRequestError):
    """A valid request this host or libvirt version cannot run."""


@dataclass(frozen=True, slots=True)
class AddressSpaceRequest:
    """One instance's maxphysaddr request, from flavor and image together.

    ``mode`` is None when nothing is asked for, or (only with
    ``legacy_bits_only``) when bits come without a mode. The sources say
    ``flavor``, ``image`` or ``flavor+image``.
    """

    mode: str | None = None
    bits: int | None = None
    mode_source: str | None = None
    bits_source: str | None = None
    required_traits: frozenset[str] = frozenset()

    @property
    def min_host_bits(self) -> int | None:
        """The width a host must reach, or None when bits do not matter.

        Passthrough gives the guest the host's own width, so only emulated
        (and legacy bits-only) requests constrain the host's bits.
        """
        if self.bits is None or self.mode == PASSTHROUGH:
            return None
        return self.bits

    def bits_from(self, source: str) -> bool:
        """True when ``source`` (``flavor``/``image``) asked for the bits."""
        return self.bits_source is not None and source in self.bits_source

    def describe(self) -> str:
        """A short human description for logs."""
        if self.mode is None and self.bits is None:
            return "no maxphysaddr request"
        parts = ["mode %s (%s)" % (self.mode, self.mode_source)
                 if self.mode else "no mode"]
        if self.bits is not None:
            parts.append("%d bits (%s)" % (self.bits, self.bits_source))
        return ", ".join(parts)

    def guest_cpu_element(
        self,
        host: HostCapabilities,
        version: LibvirtVersion,
        *,
        cpu_mode: str | None = None,
        limit: int | None = None,
    ) -> str | None:
        """The guest ``<cpu>``'s ``<maxphysaddr>`` element, or None.

        ``limit`` caps a passthrough width (libvirt >= 9.3.0), e.g. to the
        smallest width of the hosts the guest may migrate between. Raises
        :class:`AddressSpaceUnsupportedError` when this host cannot run it.
        """
        if self.mode is None:
            return None
        if version < MIN_MAXPHYSADDR:
            raise AddressSpaceUnsupportedError(
                "libvirt %s has no <maxphysaddr> (needs %s or later)"
                % (version, MIN_MAXPHYSADDR)
            )
        if self.mode == EMULATE:
            return self._emulate_element(host, version, limit)
        return self._passthrough_element(version, cpu_mode, limit)

    def _emulate_element(self, host: HostCapabilities,
                         version: LibvirtVersion, limit: int | None) -> str:
        if limit is not None:
            raise AddressSpaceUnsupportedError(
                "a limit applies to passthrough only; emulate sets the "
                "width itself"
            )
        if self.bits is None:
            if version < EMULATE_WITHOUT_BITS:
                raise AddressSpaceUnsupportedError(
                    "libvirt %s needs bits with mode emulate (optional from "
                    "%s)" % (version, EMULATE_WITHOUT_BITS)
                )
            return "<maxphysaddr mode='emulate'/>"
        host_bits = _host_bits(host)
        if host_bits is not None and self.bits > host_bits:
            raise AddressSpaceUnsupportedError(
                "the guest asks for %d address bits but this host has %d"
                % (self.bits, host_bits)
            )
        return "<maxphysaddr mode='emulate' bits='%d'/>" % self.bits

    def _passthrough_element(self, version: LibvirtVersion,
                             cpu_mode: str | None, limit: int | None) -> str:
        if cpu_mode is not None and cpu_mode != "host-passthrough":
            raise AddressSpaceUnsupportedError(
                "mode passthrough needs [libvirt] cpu_mode = "
                "host-passthrough, this host uses %s" % cpu_mode
            )
        if limit is None:
            return "<maxphysaddr mode='passthrough'/>"
        if version < PASSTHROUGH_LIMIT:
            raise AddressSpaceUnsupportedError(
                "libvirt %s cannot limit passthrough bits (needs %s)"
                % (version, PASSTHROUGH_LIMIT)
            )
        return "<maxphysaddr mode='passthrough' limit='%d'/>" % _checked_bits(
            limit, "passthrough limit")


def _host_bits(host: HostCapabilities) -> int | None:
    maxphysaddr = host.cpu.maxphysaddr
    return None if maxphysaddr is None else maxphysaddr.bits


def _lookup(container: Any, key: str) -> Any:
    # Flavor extra specs are a dict; image properties may be a dict or
    # Nova's ImageMetaProps, whose get() also takes a default.
    if container is None:
        return None
    return container.get(key, None)


def parse_mode(value: Any, what: str = FLAVOR_MODE) -> str | None:
    """A maxphysaddr mode (``emulate`` / ``passthrough``), or None if unset.

    The one reader of the mode, for the API validator, the translator, both
    host filters and the compute side. Surrounding whitespace is forgiven;
    anything else raises :class:`AddressSpaceRequestError` naming ``what``.
    """
    if value is None:
        return None
    text = value.strip() if isinstance(value, str) else None
    if text not in MODES:
        raise AddressSpaceRequestError(
            "%s = %r: unknown mode, expected %s"
            % (what, value[:40] if isinstance(value, str) else value,
               " or ".join(MODES))
        )
    return text


def parse_bits(value: Any, what: str = FLAVOR_BITS) -> int | None:
    """maxphysaddr bits from an extra spec or image property, or None.

    The one reader of the width, for the API validator, the translator,
    both host filters and the compute side: an int, or a string of the
    digits 0-9 (:func:`nova_hwabi.values.parse_decimal`), from
    :data:`MIN_BITS` to :data:`MAX_BITS`. ``'+46'``, ``'4_6'``, ``'²'``,
    ``46.0`` and ``True`` are refused. Raises
    :class:`AddressSpaceRequestError` naming ``what``.
    """
    if value is None:
        return None
    return _checked_bits(value, what)


def _checked_bits(value: Any, what: str) -> int:
    """:func:`parse_bits` for a value that is there."""
    bits = values.parse_decimal(value)
    if bits is None:
        raise AddressSpaceRequestError(values.describe_decimal_error(
            value, what, MIN_BITS, MAX_BITS))
    if not MIN_BITS <= bits <= MAX_BITS:
        raise AddressSpaceRequestError(
            "%s = %d: expected %d to %d (QEMU's range for x86 guests)"
            % (what, bits, MIN_BITS, MAX_BITS)
        )
    return bits


_Value = TypeVar("_Value")


def _from_flavor_and_image(
    parse: Callable[[Any, str], _Value | None],
    extra_specs: Mapping[str, Any] | None, flavor_key: str,
    image_properties: Any, image_key: str,
) -> tuple[_Value | None, str | None]:
    """One value, parsed from flavor and image, and its source.

    ``"flavor"``, ``"image"``, ``"flavor+image"`` or None; flavor and image
    must agree. Raises :class:`AddressSpaceRequestError`.
    """
    flavor_value = parse(_lookup(extra_specs, flavor_key),
                         "flavor " + flavor_key)
    image_value = parse(_lookup(image_properties, image_key),
                        "image " + image_key)
    if flavor_value is not None and image_value is not None:
        if flavor_value != image_value:
            raise AddressSpaceRequestError(
                "flavor %s = %s and image %s = %s disagree: make them equal "
                "or remove one" % (flavor_key, flavor_value, image_key,
                                   image_value)
            )
        return flavor_value, "flavor+image"
    if flavor_value is not None:
        return flavor_value, "flavor"
    if image_value is not None:
        return image_value, "image"
    return None, None


def translate(
    extra_specs: Mapping[str, Any] | None,
    image_properties: Any,
    *,
    bits_ladder: bool = False,
    legacy_bits_only: bool = False,
) -> AddressSpaceRequest:
    """Read one instance's maxphysaddr request from flavor and image.

    ``bits_ladder`` adds the ``CUSTOM_HWABI_MAXPHYSADDR_BITS_<N>`` trait
    for emulated requests (hosts report it when their
    ``[hwabi_capabilities] report_bits_ladder`` is on).
    ``legacy_bits_only`` keeps bits given without any mode as a bare width
    constraint, as Nova's own filters treat them, instead of refusing them;
    such a request requires no trait, since the libvirt driver gives the
    guest no ``<maxphysaddr>`` without a mode.

    Raises :class:`AddressSpaceRequestError`.
    """
    mode, mode_source = _from_flavor_and_image(
        parse_mode, extra_specs, FLAVOR_MODE, image_properties, IMAGE_MODE)
    bits, bits_source = _from_flavor_and_image(
        parse_bits, extra_specs, FLAVOR_BITS, image_properties, IMAGE_BITS)
    _check_combination(mode, bits, bits_source, legacy_bits_only)
    return AddressSpaceRequest(
        mode=mode,
        bits=bits,
        mode_source=mode_source,
        bits_source=bits_source,
        required_traits=_required_traits(mode, bits, bits_ladder),
    )


def _check_combination(mode: str | None, bits: int | None,
                       bits_source: str | None,
                       legacy_bits_only: bool) -> None:
    if mode == EMULATE and bits is None:
        raise AddressSpaceRequestError(
            "maxphysaddr mode emulate needs a width: set flavor %s or image "
            "%s (%d to %d)" % (FLAVOR_BITS, IMAGE_BITS, MIN_BITS, MAX_BITS)
        )
    if mode == PASSTHROUGH and bits is not None:
        raise AddressSpaceRequestError(
            "maxphysaddr mode passthrough takes no bits (the guest gets the "
            "host's width): remove the %s bits or use mode emulate"
            % bits_source
        )
    if mode is None and bits is not None and not legacy_bits_only:
        raise AddressSpaceRequestError(
            "%s maxphysaddr bits %d without mode emulate: libvirt ignores "
            "bits without a mode; set %s (flavor) or %s (image) to emulate, "
            "or remove the bits" % (bits_source, bits, FLAVOR_MODE,
                                    IMAGE_MODE)
        )


def _required_traits(mode: str | None, bits: int | None,
                     bits_ladder: bool) -> frozenset[str]:
    if mode == EMULATE:
        required = {traits.ADDRESS_SPACE_EMULATED}
        if bits_ladder:
            # _check_combination refused emulate without bits: bits is an
            # int here, which mypy cannot follow across the call.
            required.add(traits.bits_trait(bits))  # type: ignore[arg-type]
        return frozenset(required)
    if mode == PASSTHROUGH:
        return frozenset({traits.ADDRESS_SPACE_PASSTHROUGH})
    return frozenset()
