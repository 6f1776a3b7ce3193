"""Validators for ``hw:maxphysaddr_mode`` and ``hw:maxphysaddr_bits``.

Each key is validated on its own, as Nova's API validates every extra spec
independently; the rules that involve both keys (and the image) are
enforced by :func:`nova_hwabi.address_space.translate` in
the scheduler, which rejects such requests with a message.

Each value is read by the same parser as the scheduler and the compute
side (:func:`~nova_hwabi.address_space.parse_bits`,
:func:`~nova_hwabi.address_space.parse_mode`): Nova's own
``int`` check takes ``'+46'`` and ``'4_6'``, which the scheduler would then
refuse, so the API would store a flavor no host can ever take.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from nova_hwabi.address_space import (
    FLAVOR_BITS,
    FLAVOR_MODE,
    MODES,
    AddressSpaceRequestError,
    parse_bits,
    parse_mode,
)
from nova_hwabi.conf.capabilities import MAX_BITS, MIN_BITS


@functools.cache
def _parsed_validator(
    base: Any, exception: Any, parse: Callable[[Any, str], object]
) -> type[Any]:
    """An ExtraSpecValidator class whose value check is ``parse``.

    One class per parser for the process, so validators from two
    ``register()`` calls compare equal (dataclass equality needs the same
    class).
    """

    # Nova's ExtraSpecValidator is untyped (Any to mypy, which strict mode
    # will not let us subclass) and handed in: nova-api imports it lazily.
    class ParsedValidator(base.ExtraSpecValidator):  # type: ignore[misc]
        # Keeps Nova's name handling and the documented value schema (the
        # API reference lists it); only the value check is ours.
        def validate(self, name: str, value: Any) -> None:
            if not re.fullmatch(self.name_regex, name):
                raise exception.ValidationError(
                    "Validation failed; expected a name of format '%s' but "
                    "got '%s'." % (self.name, name))
            try:
                parse(value, name)
            except AddressSpaceRequestError as exc:
                raise exception.ValidationError(
                    "Validation failed; %s." % exc) from None

    return ParsedValidator


def register() -> list[Any]:
    """The validators, for Nova's ``nova.api.extra_spec_validators``."""
    from nova import exception  # nova-api only
    from nova.api.validation.extra_specs import base

    mode_validator = _parsed_validator(base, exception, parse_mode)
    bits_validator = _parsed_validator(base, exception, parse_bits)
    return [
        mode_validator(
            name=FLAVOR_MODE,
            description=(
                "How the guest's physical address width is set: emulate "
                "(a fixed width, given by hw:maxphysaddr_bits) or "
                "passthrough (the host's width; needs [libvirt] cpu_mode = "
                "host-passthrough). Only supported by the libvirt driver "
                "with libvirt >= 8.7.0."
            ),
            value={
                "type": str,
                "description": "The address-space mode",
                "enum": list(MODES),
            },
        ),
        bits_validator(
            name=FLAVOR_BITS,
            description=(
                "The guest's physical address width in bits, with "
                "hw:maxphysaddr_mode = emulate. Guests with 1 TiB or more "
                "of RAM, or large device BARs, need more than QEMU's "
                "default. The host must have at least this many bits."
            ),
            value={
                "type": int,
                "description": "Physical address bits",
                "min": MIN_BITS,
                "max": MAX_BITS,
            },
        ),
    ]
