"""The few Placement calls nova-hwabi makes, counted.

A keystoneauth1 adapter built from ``[placement]`` as Nova builds its own
(:meth:`PlacementClient.from_conf`); providers are found by name or UUID
and remembered, custom traits are created at most once per process. Every
failure raises a :class:`~nova_hwabi.placement.errors.PlacementError`.
"""

from __future__ import annotations

import contextlib
import logging as std_logging
import uuid as uuid_lib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import os_traits
from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

from nova_hwabi.conf import sources
from nova_hwabi.placement.errors import (
    PlacementAuthError,
    PlacementNotConfiguredError,
    PlacementRequestError,
    PlacementUnreachableError,
    ProviderNotFoundError,
)

if TYPE_CHECKING:
    # keystoneauth1's answers; requests comes with it (no import of our
    # own at run time).
    from requests import Response

# Traits API with provider generations; nothing newer is needed to sync.
SYNC_MICROVERSION = "1.6"


@dataclass(frozen=True, slots=True)
class Provider:
    """A resource provider: its UUID and name."""

    uuid: str
    name: str


@contextlib.contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
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

    adapter: ks_adapter.Adapter
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
            raise PlacementNotConfiguredError(
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
              microversion: str = SYNC_MICROVERSION) -> Response:
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

    def _unexpected(self, response: Response,
                    what: str) -> PlacementRequestError:
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
        created: set[str] = set()
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
