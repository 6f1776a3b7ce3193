"""Keep a compute node's resource provider traits in sync with its host.

Only the traits nova-hwabi owns are touched (see :func:`nova_hwabi.traits.
is_owned`): missing custom traits are created, ours are added and removed,
and every other trait on the provider (Nova's, an operator's) is written
back unchanged. Writes carry the provider generation; a 409 means someone
else wrote in between, so the traits are read again and the change
recomputed, a bounded number of times. Nothing is written when nothing
changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from oslo_log import log as logging

from nova_hwabi import traits as hwabi_traits
from nova_hwabi.placement.client import PlacementClient, Provider
from nova_hwabi.placement.errors import PlacementConflictError

LOG = logging.getLogger(__name__)

DEFAULT_RETRIES = 3


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What one sync did (or, with ``dry_run``, would do)."""

    provider: Provider
    added: frozenset[str]
    removed: frozenset[str]
    created_traits: frozenset[str]
    kept_foreign: frozenset[str]
    requests: int
    conflicts: int
    dry_run: bool = False

    @property
    def changed(self) -> bool:
        """True when the provider's traits differ (or would) after sync."""
        return bool(self.added or self.removed)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready view: the provider's ``uuid`` and ``name``,
        ``dry_run``, the trait sets sorted, and the ``requests`` and
        ``conflicts`` (409 answers) it took."""
        return {
            "provider": {"uuid": self.provider.uuid,
                         "name": self.provider.name},
            "dry_run": self.dry_run,
            "added": sorted(self.added),
            "removed": sorted(self.removed),
            "created_traits": sorted(self.created_traits),
            "kept_foreign": sorted(self.kept_foreign),
            "requests": self.requests,
            "conflicts": self.conflicts,
        }

    def describe(self) -> str:
        """One line for people."""
        verb = "would add" if self.dry_run else "added"
        removal = "would remove" if self.dry_run else "removed"
        if not self.changed:
            return "%s (%s): traits already in sync" % (
                self.provider.name, self.provider.uuid,
            )
        return "%s (%s): %s %s; %s %s" % (
            self.provider.name, self.provider.uuid,
            verb, ", ".join(sorted(self.added)) or "nothing",
            removal, ", ".join(sorted(self.removed)) or "nothing",
        )


def merge_owned_traits(current: Iterable[str], desired: Iterable[str], *,
                       owned: Callable[[str], bool] = hwabi_traits.is_owned,
                       ) -> set[str]:
    """``current`` with its owned traits replaced by the owned ``desired``.

    Traits ``owned`` says are not ours are kept as they are, and never
    added: the one ownership rule of both the Placement sync and the
    compute driver's ``update_provider_tree``.
    """
    foreign = {t for t in current if not owned(t)}
    return foreign | {t for t in desired if owned(t)}


def sync_provider_traits(
    client: PlacementClient,
    provider: Provider,
    desired: frozenset[str],
    *,
    owned: Callable[[str], bool] = hwabi_traits.is_owned,
    dry_run: bool = False,
    retries: int = DEFAULT_RETRIES,
) -> SyncResult:
    """Make ``provider``'s owned traits exactly the owned part of ``desired``.

    Traits ``owned`` says are not ours are kept as they are, and never
    added. Raises
    :class:`PlacementConflictError` after ``retries`` conflicts in a row.
    """
    start = client.requests
    conflicts = 0
    created: set[str] = set()
    while True:
        current, generation = client.provider_traits(provider)
        foreign = {t for t in current if not owned(t)}
        wanted = merge_owned_traits(current, desired, owned=owned)
        added, removed = wanted - current, current - wanted
        if dry_run or wanted == current:
            break
        created |= client.ensure_custom_traits(added)
        if client.put_provider_traits(provider, wanted, generation):
            break
        conflicts += 1
        LOG.info("Provider %s changed while we wrote its traits (409); "
                 "reading it again (%d of %d)", provider.uuid, conflicts,
                 retries)
        if conflicts >= retries:
            raise PlacementConflictError(
                "resource provider %s kept changing while its traits were "
                "written (%d conflicts): another writer is busy with it; "
                "nothing was changed, run again" % (provider.uuid, conflicts)
            )
    return SyncResult(
        provider=provider,
        added=frozenset(added),
        removed=frozenset(removed),
        created_traits=frozenset(created),
        kept_foreign=frozenset(foreign),
        requests=client.requests - start,
        conflicts=conflicts,
        dry_run=dry_run,
    )
