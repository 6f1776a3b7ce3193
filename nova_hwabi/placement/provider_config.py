"""Nova provider config files (schema 1.0) carrying nova-hwabi's traits.

The Nova-native alternative to ``--sync``: nova-compute reads every
``*.yaml`` in ``[compute] provider_config_location`` and sets the traits
listed there on its resource provider. Nova accepts only custom traits in
these files, so the standard COMPUTE_ADDRESS_SPACE_* traits (which Nova's
libvirt driver reports itself) cannot be carried this way.
"""

from __future__ import annotations

import json
import uuid as uuid_lib

import os_traits

SCHEMA_VERSION = "1.0"
COMPUTE_NODE = "$COMPUTE_NODE"  # Nova's sentinel: every local compute node


class ProviderConfigError(ValueError):
    """No provider config can be written for this host."""


def _identification(provider: str) -> tuple[str, str]:
    if provider == COMPUTE_NODE:
        return "uuid", provider
    try:
        return "uuid", str(uuid_lib.UUID(provider))
    except ValueError:
        return "name", provider


def provider_config_yaml(provider: str, traits: frozenset[str] | set[str],
                         source: str) -> str:
    """A provider config document adding the custom traits in ``traits``.

    ``provider`` is a provider name, UUID or ``$COMPUTE_NODE``. Raises
    :class:`ProviderConfigError` when no custom trait is left to carry.
    """
    custom = sorted(t for t in traits if os_traits.is_custom(t))
    if not custom:
        raise ProviderConfigError(
            "no custom traits to write: Nova's provider config takes only "
            "custom traits; enable [hwabi_capabilities] report_bits_ladder "
            "or report_machine_type_traits"
        )
    key, value = _identification(provider)
    # JSON strings are valid YAML scalars, which keeps quoting safe for any
    # provider name without needing a YAML library.
    lines = [
        "# Written by nova-hwabi-report from %s." % source,
        "# Custom traits only: Nova reports standard traits itself.",
        "meta:",
        "  schema_version: %s" % json.dumps(SCHEMA_VERSION),
        "providers:",
        "  - identification:",
        "      %s: %s" % (key, json.dumps(value)),
        "    traits:",
        "      additional:",
    ]
    lines.extend("        - %s" % trait for trait in custom)
    return "\n".join(lines) + "\n"
