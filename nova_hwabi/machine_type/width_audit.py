"""Address-width audit of this host's passthrough guests.

``nova-hwabi-manage address-width audit`` on a compute host: for every
local domain that is a Nova instance and has ``<maxphysaddr
mode='passthrough'>``, the width it gets on this host (the host CPU's
bits, capped by the domain's ``limit``) is compared with the width
recorded for the instance (:mod:`nova_hwabi.address_width`). The driver
records the width each time it defines the guest, so a guest that
differs was started before its host's CPU (or libvirt's report of it)
changed: its OS will see another width at its next start here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nova_hwabi import address_width
from nova_hwabi.capabilities.guest import GuestDomain
from nova_hwabi.machine_type import records

if TYPE_CHECKING:
    from nova_hwabi.machine_type.recorder import LocalHost

OK = "ok"
DIFFERS = "differs"
NOT_RECORDED = "not recorded"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class WidthAudit:
    """One passthrough guest: the width recorded and the width here."""

    uuid: str
    recorded: int | None
    on_host: int | None
    limit: int | None
    status: str
    note: str = ""

    @property
    def finding(self) -> bool:
        """True when the guest should be looked at."""
        return self.status != OK

    def to_dict(self) -> dict[str, object]:
        """JSON-ready view."""
        return {"uuid": self.uuid, "recorded_bits": self.recorded,
                "host_bits": self.on_host, "limit": self.limit,
                "status": self.status, "note": self.note}


def audit_domain(domain: GuestDomain, host_bits: int | None,
                 system_metadata: Mapping[str, str]) -> WidthAudit | None:
    """The audit row of one domain, or None when it is not passthrough."""
    guest = domain.maxphysaddr
    if guest is None or guest.mode != address_width.PASSTHROUGH:
        return None
    now = address_width.width_at_spawn(guest, host_bits)
    on_host = now.bits if now is not None else None
    try:
        recorded = address_width.recorded_width(system_metadata)
    except address_width.RecordedWidthError as exc:
        return WidthAudit(domain.uuid, None, on_host, guest.limit, UNKNOWN,
                          "record not readable: %s" % exc)
    if recorded is None:
        return WidthAudit(domain.uuid, None, on_host, guest.limit,
                          NOT_RECORDED,
                          "no width recorded: moves are not narrowed by "
                          "width until nova-compute records it")
    if on_host is None:
        return WidthAudit(domain.uuid, recorded.bits, None, guest.limit,
                          UNKNOWN, "this host reports no maxphysaddr bits")
    if recorded.bits != on_host:
        return WidthAudit(
            domain.uuid, recorded.bits, on_host, guest.limit, DIFFERS,
            "recorded %d bits, this host now gives the guest %d: its OS "
            "sees %d after its next start here" % (recorded.bits, on_host,
                                                   on_host))
    return WidthAudit(domain.uuid, recorded.bits, on_host, guest.limit, OK)


def audit_local_widths(ctxt: Any, host: LocalHost) -> list[WidthAudit]:
    """Audit rows for the passthrough guests of ``host`` (a LocalHost).

    Domains that are not Nova instances are skipped.
    """
    maxphysaddr = host.capabilities.cpu.maxphysaddr
    host_bits = maxphysaddr.bits if maxphysaddr is not None else None
    rows = []
    for domain in host.domains:
        if domain.maxphysaddr is None or (
                domain.maxphysaddr.mode != address_width.PASSTHROUGH):
            continue
        try:
            record = records.load_record(ctxt, domain.uuid, domain.arch)
        except records.UnknownInstanceError:
            continue
        row = audit_domain(domain, host_bits, record.system_metadata)
        if row is not None:
            rows.append(row)
    return rows
