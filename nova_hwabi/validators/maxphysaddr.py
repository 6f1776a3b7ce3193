"""Validators for ``hw:maxphysaddr_mode`` and ``hw:maxphysaddr_bits``.

Each key is validated on its own, as Nova's API validates every extra spec
independently; the rules that involve both keys (and the image) are
enforced by :func:`nova_hwabi.request_filters.address_space.translate` in
the scheduler, which rejects such requests with a message.
"""

from __future__ import annotations

from nova_hwabi.conf.capabilities import MAX_BITS, MIN_BITS
from nova_hwabi.request_filters.address_space import (
    FLAVOR_BITS,
    FLAVOR_MODE,
    MODES,
)


def register():
    """The validators, for Nova's ``nova.api.extra_spec_validators``."""
    from nova.api.validation.extra_specs import base  # nova-api only

    return [
        base.ExtraSpecValidator(
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
        base.ExtraSpecValidator(
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
