"""Flavor extra-spec validators for nova-api (``hw:maxphysaddr_*``).

Not implemented yet.
"""
