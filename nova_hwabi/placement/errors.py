"""What can go wrong talking to Placement.

Each message says what failed and what to fix. Which exit code a command
gives for each is the command's business (see :mod:`nova_hwabi.cmd.report`).
"""


class PlacementError(Exception):
    """Placement could not be used; the message says why and what to fix."""


class PlacementUnreachableError(PlacementError):
    """No answer from Placement (down, wrong endpoint, network)."""


class PlacementAuthError(PlacementError):
    """Placement refused the credentials (401) or the role (403)."""


class PlacementNotConfiguredError(PlacementAuthError):
    """``[placement]`` has no credentials at all (``auth_type`` unset):
    Placement was not meant to be asked, unlike an incomplete or refused
    configuration."""


class ProviderNotFoundError(PlacementError):
    """No resource provider with that name or UUID."""


class PlacementConflictError(PlacementError):
    """The provider kept changing under us (409) past the retry limit."""


class PlacementRequestError(PlacementError):
    """Placement answered with an unexpected status."""
