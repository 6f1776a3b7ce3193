"""libvirt version numbers: ``"9.0.0"`` strings and ``9000000`` integers."""

from __future__ import annotations

from typing import NamedTuple

from nova_hwabi import values
from nova_hwabi.capabilities.errors import CapabilitiesError


class LibvirtVersion(NamedTuple):
    """A comparable libvirt version."""

    major: int
    minor: int
    micro: int = 0

    def __str__(self) -> str:
        return "%d.%d.%d" % self

    @classmethod
    def parse(cls, text: str) -> LibvirtVersion:
        """Parse ``"X.Y"`` or ``"X.Y.Z"``."""
        parts = text.strip().split(".")
        numbers = [number for number in map(values.parse_decimal, parts)
                   if number is not None]
        if not 2 <= len(parts) <= 3 or len(numbers) != len(parts) or any(
                part != part.strip() for part in parts):
            raise CapabilitiesError(
                "libvirt version %r: expected X.Y.Z, e.g. 9.0.0" % text[:40]
            )
        return cls(*(number for number in numbers if number is not None))

    @classmethod
    def from_int(cls, number: int) -> LibvirtVersion:
        """Decode libvirt's ``major * 1000000 + minor * 1000 + micro``."""
        if number < 0:
            raise CapabilitiesError(
                "libvirt version number %d is negative" % number
            )
        return cls(number // 1000000, number // 1000 % 1000, number % 1000)


# <maxphysaddr> in guest CPUs and host capabilities.
MIN_MAXPHYSADDR = LibvirtVersion(8, 7, 0)
