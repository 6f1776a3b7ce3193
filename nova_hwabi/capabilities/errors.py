"""Errors of reading a host: its libvirt XML, libvirt itself, a sample."""


class CapabilitiesError(ValueError):
    """A libvirt XML document could not be used.

    The message names the element or attribute at fault and what was
    expected there, so an operator can tell a truncated file from a document
    of the wrong kind or a hostile one.
    """


class LibvirtConnectionError(Exception):
    """libvirt could not be reached or refused a query.

    Not a :class:`CapabilitiesError`: nothing was wrong with any document,
    the host could not be asked.
    """


class UnknownSampleError(LookupError):
    """No sample host of that name ships with the package."""
