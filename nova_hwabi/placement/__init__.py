"""Placement: nova-hwabi's traits on compute node resource providers.

Not a capability of the host: the host's traits are decided in
:mod:`nova_hwabi.capabilities`; this part carries them to Placement.

Public API::

    PlacementClient.from_conf(conf) -> PlacementClient   # [placement]
    sync_provider_traits(client, provider, traits) -> SyncResult
    merge_owned_traits(current, desired) -> set[str]
    provider_config_yaml(provider, traits, source) -> str  # Nova's file
    PlacementError (and its kinds), ProviderConfigError

Commands map the errors to their exit codes (see
:mod:`nova_hwabi.cmd.report`); the exceptions carry none.
"""

from nova_hwabi.placement.client import (
    SYNC_MICROVERSION,
    PlacementClient,
    Provider,
)
from nova_hwabi.placement.errors import (
    PlacementAuthError,
    PlacementConflictError,
    PlacementError,
    PlacementNotConfiguredError,
    PlacementRequestError,
    PlacementUnreachableError,
    ProviderNotFoundError,
)
from nova_hwabi.placement.provider_config import (
    ProviderConfigError,
    provider_config_yaml,
)
from nova_hwabi.placement.trait_sync import (
    DEFAULT_RETRIES,
    SyncResult,
    merge_owned_traits,
    sync_provider_traits,
)

__all__ = [
    "DEFAULT_RETRIES",
    "SYNC_MICROVERSION",
    "PlacementAuthError",
    "PlacementClient",
    "PlacementConflictError",
    "PlacementError",
    "PlacementNotConfiguredError",
    "PlacementRequestError",
    "PlacementUnreachableError",
    "Provider",
    "ProviderConfigError",
    "ProviderNotFoundError",
    "SyncResult",
    "merge_owned_traits",
    "provider_config_yaml",
    "sync_provider_traits",
]
