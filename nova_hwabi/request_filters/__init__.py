"""Request-spec translators: flavor and image to required traits.

Not implemented yet.
"""
