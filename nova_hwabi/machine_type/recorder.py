"""The compute-side recorder and the drift audit, over local domains.

Both read this host's libvirt domains (a domain's UUID is its instance's
UUID) and Nova's records of those instances. ``record`` fills in what an
instance lacks, as nova-compute would at start-up (see
:func:`nova_hwabi.machine_type.hooks.at_startup`); ``audit`` compares the
recorded, pinned, running and default machine types and flags drift.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from oslo_log import log as logging

from nova_hwabi.capabilities import (
    connection,
    parse_guest_domain,
    parse_host_capabilities,
)
from nova_hwabi.capabilities.errors import (
    CapabilitiesError,
)
from nova_hwabi.capabilities.guest import GuestDomain
from nova_hwabi.capabilities.model import HostCapabilities
from nova_hwabi.machine_type import defaults, hooks, names, records

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class LocalHost:
    """This host's capabilities and guest domains, read once."""

    capabilities: HostCapabilities
    domains: tuple[GuestDomain, ...]

    def resolve(self, domain_type: str,
                arch: str) -> Callable[[str], str | None]:
        """A function mapping an alias to this host's versioned type."""
        guests = self.capabilities.guests_for(arch)

        def resolve(alias: str) -> str | None:
            for guest in guests:
                found = guest.canonical_machine(alias, domain_type)
                if found:
                    return found
            return None
        return resolve


def read_local_host(uri: str) -> LocalHost:
    """Read capabilities and every domain's XML from libvirt at ``uri``."""
    with connection.connected(uri, read_only=True) as conn:
        capabilities = parse_host_capabilities(conn.getCapabilities())
        domains = []
        for domain in conn.listAllDomains():
            try:
                domains.append(parse_guest_domain(domain.XMLDesc(0)))
            except CapabilitiesError as exc:
                LOG.warning("Skipping domain %s: %s", domain.UUIDString(),
                            exc)
    return LocalHost(capabilities, tuple(domains))


@dataclass(frozen=True)
class Recorded:
    """What the recorder did (or would do) for one domain.

    ``failed`` is True when nothing could be recorded for it; ``note``
    then says why.
    """

    uuid: str
    change: hooks.RecordChange | None
    note: str = ""
    failed: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view: ``instance``, ``note``, what was (or would be)
        ``set`` and the ``sources`` of each value (both empty without a
        change), ``failed``."""
        return {
            "instance": self.uuid, "note": self.note,
            "set": self.change.set if self.change else {},
            "sources": self.change.sources if self.change else {},
            "failed": self.failed,
        }


def record_local_instances(ctxt: Any, host: LocalHost, conf: Any, *,
                           dry_run: bool = False) -> list[Recorded]:
    """Record what each local instance lacks; idempotent.

    One instance that cannot be recorded (e.g. a running machine type the
    grammar refuses, or a database error on its row) is logged with its
    UUID and reason and reported as ``failed``; the others are recorded.
    """
    results: list[Recorded] = []
    for domain in host.domains:
        try:
            results.append(_record_one(ctxt, host, domain, conf, dry_run))
        except Exception as exc:  # one instance never stops the others
            reason = "%s: %s" % (type(exc).__name__, exc)
            LOG.warning("Instance %s: nothing recorded: %s", domain.uuid,
                        reason)
            results.append(Recorded(domain.uuid, None,
                                    "failed: %s" % reason, failed=True))
    return results


def _record_one(ctxt: Any, host: LocalHost, domain: GuestDomain, conf: Any,
                dry_run: bool) -> Recorded:
    try:
        record = records.load_record(ctxt, domain.uuid, domain.arch)
    except records.UnknownInstanceError:
        return Recorded(domain.uuid, None, "not a Nova instance: skipped")
    change = hooks.at_startup(
        record, domain, conf,
        resolve=host.resolve(domain.domain_type, domain.arch or ""),
    )
    if not dry_run:
        records.apply_change(ctxt, domain.uuid, change)
    return Recorded(domain.uuid, change)


@dataclass(frozen=True)
class Audit:
    """Recorded, pinned, running and default machine types of one guest."""

    uuid: str
    recorded: str | None
    pinned: str | None
    running: str | None
    default: str | None
    drift: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view."""
        return dict(self.__dict__)


def _drift(recorded: str | None, pinned: str | None, running: str | None,
           resolved: str | None) -> list[str]:
    findings: list[str] = []
    if recorded is None:
        findings.append("no machine type recorded: nova-hwabi-manage "
                        "machine-type record")
    if pinned and running and pinned != running:
        findings.append("pinned %s but the guest runs %s" % (pinned,
                                                            running))
    if recorded and resolved and running and resolved != running:
        findings.append(
            "Nova's record %s means %s on this host but the guest runs %s: "
            "a hard reboot or move would change its %s; pin it with "
            "nova-hwabi-manage machine-type update UUID %s"
            % (recorded, resolved, running, _what_changes(resolved, running),
               running)
        )
    return findings


def _what_changes(resolved: str, running: str) -> str:
    """"chipset" across families (pc -> q35), else the machine version.

    Two versions of one family keep the chipset but not the guest ABI
    (device defaults, CPU flags), which still matters to the guest.
    """
    try:
        old = names.parse_machine_type(running)
        new = names.parse_machine_type(resolved)
    except names.MachineTypeError:
        return "machine type"
    if (old.family, old.variant) == (new.family, new.variant):
        return "machine type version (same chipset, another ABI)"
    return "chipset"


def audit_local_instances(ctxt: Any, host: LocalHost,
                          conf: Any) -> list[Audit]:
    """Compare what is recorded with what runs, for each local instance."""
    audits: list[Audit] = []
    for domain in host.domains:
        try:
            found = records.get_machine_type(ctxt, domain.uuid)
        except records.UnknownInstanceError:
            continue
        resolve = host.resolve(domain.domain_type, domain.arch or "")
        recorded = found.recorded
        resolved = None
        if recorded:
            parsed = names.parse_machine_type(recorded)
            resolved = resolve(recorded) if parsed.is_alias else recorded
        audits.append(Audit(
            uuid=domain.uuid, recorded=recorded, pinned=found.pinned,
            running=domain.machine,
            default=(defaults.default_machine_type(domain.arch, conf)
                     if domain.arch else None),
            drift=_drift(recorded, found.pinned, domain.machine, resolved),
        ))
    return audits
