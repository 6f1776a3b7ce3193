"""Flavor extra-spec validators for nova-api.

Nova loads ``register()`` functions from the ``nova.api.extra_spec_validators``
entry point; ours make ``hw:maxphysaddr_mode`` and ``hw:maxphysaddr_bits``
valid keys (Nova has no validator for them, so API microversion 2.86
and later refuse them outright).
"""
