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

import contextlib
import logging as std_logging
import uuid as uuid_lib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import os_traits
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
from oslo_config import cfg
from oslo_log import log as logging

from nova_hwabi import traits as hwabi_traits
from nova_hwabi.conf import sources

LOG = logging.getLogger(__name__)

# Traits API with provider generations; nothing newer is needed to sync.
SYNC_MICROVERSION = "1.6"
DEFAULT_RETRIES = 3


class PlacementError(Exception):
    """Placement could not be used; ``exit_code`` is the CLI's."""

    exit_code = 4


class PlacementUnreachableError(PlacementError):
    """No answer from Placement (down, wrong endpoint, network)."""

    exit_code = 4


class PlacementAuthError(PlacementError):
    """Placement refused the credentials (401) or the role (403)."""

    exit_code = 5


class ProviderNotFoundError(PlacementError):
    """No resource provider with that name or UUID."""

    exit_code = 6


class PlacementConflictError(PlacementError):
    """The provider kept changing under us (409) past the retry limit."""

    exit_code = 7


class PlacementRequestError(PlacementError):
    """Placement answered with an unexpected status."""

    exit_code = 8


@dataclass(frozen=True, slots=True)
class Provider:
    """A resource provider: its UUID and name."""

    uuid: str
    name: str


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


@contextlib.contextmanager
def _quiet(logger_name: str):
    """Let only errors of one logger through within the block."""
    logger = std_logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(std_logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


@dataclass
class PlacementClient:
    """The few Placement calls a trait sync needs, counted."""

    adapter: Any
    requests: int = 0
    # Custom traits known to exist, so each is created at most once per
    # process, and providers already looked up (a long-running sync asks
    # Placement for its provider once).
    known_traits: set[str] = field(default_factory=set)
    providers: dict[str, Provider] = field(default_factory=dict)

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> PlacementClient:
        """Build the client from ``[placement]``, as Nova does."""
        try:
            # stevedore logs a WARNING for an unknown plugin name; the
            # error below says it once, naming the option and the file.
            with _quiet("stevedore.named"):
                auth = ks_loading.load_auth_from_conf_options(
                    conf, "placement")
        except ks_exc.MissingRequiredOptions as exc:
            raise PlacementAuthError(
                "[placement] auth is incomplete %s: %s" % (
                    sources.origin(conf, "placement", "auth_type"), exc)
            ) from None
        except ks_exc.NoMatchingPlugin as exc:
            raise PlacementAuthError(
                "[placement] auth_type %s is not valid: %s" % (
                    sources.origin(conf, "placement", "auth_type"), exc)
            ) from None
        if auth is None:
            raise PlacementAuthError(
                "[placement] auth_type is not set %s: configure Placement "
                "credentials as for nova-compute (e.g. auth_type = password "
                "with a Keystone user, or auth_type = admin_token with "
                "endpoint and token for a noauth2 Placement)"
                % sources.where(conf)
            )
        session = ks_loading.load_session_from_conf_options(
            conf, "placement", auth=auth
        )
        adapter = ks_loading.load_adapter_from_conf_options(
            conf, "placement", session=session, auth=auth
        )
        return cls(adapter)

    def _call(self, method: str, url: str, body: Any = None,
              microversion: str = SYNC_MICROVERSION):
        self.requests += 1
        try:
            response = self.adapter.request(
                url, method, json=body, microversion=microversion,
                raise_exc=False, headers={"Accept": "application/json"},
            )
        except (ks_exc.ConnectFailure, ks_exc.ConnectTimeout,
                ks_exc.EndpointNotFound, ks_exc.DiscoveryFailure,
                ks_exc.UnknownConnectionError) as exc:
            raise PlacementUnreachableError(
                "Placement is unreachable at %s (%s): check that "
                "placement-api is running and that [placement] points at "
                "it" % (self._endpoint(), type(exc).__name__)
            ) from None
        except ks_exc.Unauthorized as exc:
            raise PlacementAuthError(
                "Keystone refused the [placement] credentials: %s" % exc
            ) from None
        if response.status_code in (401, 403):
            raise PlacementAuthError(
                "Placement refused the request with HTTP %d: check the "
                "[placement] credentials and that the user has the admin "
                "role" % response.status_code
            )
        return response

    def _endpoint(self) -> str:
        try:
            return self.adapter.get_endpoint() or "an unknown endpoint"
        except ks_exc.ClientException:
            return "an endpoint the catalog does not list"

    def _unexpected(self, response, what: str) -> PlacementRequestError:
        return PlacementRequestError(
            "Placement answered HTTP %d to %s: %s" % (
                response.status_code, what, response.text[:300],
            )
        )

    def provider(self, name_or_uuid: str) -> Provider:
        """Find a provider by UUID or by name (remembered afterwards)."""
        if name_or_uuid not in self.providers:
            self.providers[name_or_uuid] = self._lookup(name_or_uuid)
        return self.providers[name_or_uuid]

    def _lookup(self, name_or_uuid: str) -> Provider:
        if _is_uuid(name_or_uuid):
            response = self._call(
                "GET", "/resource_providers/%s" % name_or_uuid
            )
            if response.status_code == 404:
                raise ProviderNotFoundError(
                    "no resource provider with UUID %s" % name_or_uuid
                )
            if response.status_code != 200:
                raise self._unexpected(response, "a provider lookup")
            data = response.json()
            return Provider(data["uuid"], data["name"])
        response = self._call(
            "GET", "/resource_providers?name=%s" % quote(name_or_uuid)
        )
        if response.status_code != 200:
            raise self._unexpected(response, "a provider lookup")
        found = response.json()["resource_providers"]
        if not found:
            raise ProviderNotFoundError(
                "no resource provider named %r: is nova-compute running on "
                "this host, and is that its hypervisor hostname? (--provider "
                "takes a name or UUID)" % name_or_uuid
            )
        return Provider(found[0]["uuid"], found[0]["name"])

    def provider_traits(self, provider: Provider) -> tuple[set[str], int]:
        """The provider's traits and generation."""
        response = self._call(
            "GET", "/resource_providers/%s/traits" % provider.uuid
        )
        if response.status_code == 404:
            self.providers = {k: v for k, v in self.providers.items()
                              if v != provider}
            raise ProviderNotFoundError(
                "resource provider %s disappeared" % provider.uuid
            )
        if response.status_code != 200:
            raise self._unexpected(response, "reading traits")
        data = response.json()
        return set(data["traits"]), data["resource_provider_generation"]

    def existing_traits(self, prefix: str) -> set[str]:
        """The traits Placement knows whose names start with ``prefix``."""
        response = self._call("GET", "/traits?name=startswith:%s"
                              % quote(prefix))
        if response.status_code != 200:
            raise self._unexpected(response, "listing traits")
        return set(response.json()["traits"])

    def providers_with_trait(self, trait: str) -> int:
        """How many resource providers carry ``trait``."""
        response = self._call("GET", "/resource_providers?required=%s"
                              % quote(trait), microversion="1.18")
        if response.status_code != 200:
            raise self._unexpected(response, "listing providers")
        return len(response.json()["resource_providers"])

    def ensure_custom_traits(self, names: Iterable[str]) -> set[str]:
        """Create the custom traits not known to exist; return those sent."""
        created = set()
        for name in sorted(set(names) - self.known_traits):
            if not os_traits.is_custom(name):
                continue
            response = self._call("PUT", "/traits/%s" % name)
            if response.status_code not in (201, 204):
                raise self._unexpected(response, "creating trait %s" % name)
            self.known_traits.add(name)
            created.add(name)
        return created

    def put_provider_traits(self, provider: Provider, names: set[str],
                            generation: int) -> bool:
        """Replace the provider's traits; False on a generation conflict."""
        response = self._call(
            "PUT", "/resource_providers/%s/traits" % provider.uuid,
            {"traits": sorted(names),
             "resource_provider_generation": generation},
        )
        if response.status_code == 409:
            return False
        if response.status_code != 200:
            raise self._unexpected(response, "setting traits")
        self.known_traits.update(t for t in names if os_traits.is_custom(t))
        return True


def _is_uuid(value: str) -> bool:
    try:
        uuid_lib.UUID(value)
    except ValueError:
        return False
    return True


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
