"""The one way nova-hwabi opens libvirt itself (outside Nova's driver).

``nova-hwabi-report --connect`` and the machine-type recorder and audit
(``nova-hwabi-manage``) read libvirt through :func:`connected`, the
functional tests through :func:`import_libvirt`; the compute driver uses
Nova's own connection (``self._host``) instead.
libvirt-python is optional (the ``nova-hwabi[libvirt]`` extra): without it
:func:`import_libvirt` says how to install it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from oslo_log import log as logging

from nova_hwabi.capabilities.errors import LibvirtConnectionError

LOG = logging.getLogger(__name__)


def import_libvirt() -> Any:
    """libvirt-python, or LibvirtConnectionError saying how to install it."""
    try:
        import libvirt  # optional: the nova-hwabi[libvirt] extra
    except ImportError:
        raise LibvirtConnectionError(
            "libvirt-python is not installed; install nova-hwabi[libvirt]"
        ) from None
    # libvirt-python prints every error to stderr by default; the error we
    # raise already carries the message.
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    return libvirt


def connect(uri: str, *, read_only: bool = False) -> Any:
    """A ``virConnect`` to libvirt at ``uri``; the caller closes it.

    Read-write by default, as Nova's compute service has (domain
    capabilities need it); when libvirt refuses that, a warning says so and
    a read-only connection is used. ``read_only=True`` asks for read-only
    at once (enough to read capabilities and domain XML). Raises
    :class:`LibvirtConnectionError` when no connection can be made.
    """
    libvirt = import_libvirt()
    if not read_only:
        try:
            return libvirt.open(uri)
        except libvirt.libvirtError as exc:
            LOG.warning(
                "Read-write libvirt connection to %s refused (%s); trying "
                "read-only, without domain capabilities", uri,
                error_message(exc),
            )
    try:
        return libvirt.openReadOnly(uri)
    except libvirt.libvirtError as exc:
        raise LibvirtConnectionError(
            "cannot connect to libvirt at %s: %s (is libvirtd running, and "
            "may this user open its socket?)" % (uri, error_message(exc))
        ) from None


@contextlib.contextmanager
def connected(uri: str, *, read_only: bool = False) -> Iterator[Any]:
    """A ``virConnect`` to ``uri`` (see :func:`connect`), closed on exit.

    A ``libvirt.libvirtError`` raised in the ``with`` block becomes
    :class:`LibvirtConnectionError`: ``libvirt at URI failed: MESSAGE``,
    one line, with libvirt's message. Errors the block means to survive
    (a missing optional document) it catches itself.
    """
    libvirt = import_libvirt()
    conn = connect(uri, read_only=read_only)
    try:
        yield conn
    except libvirt.libvirtError as exc:
        raise LibvirtConnectionError(
            "libvirt at %s failed: %s" % (uri, error_message(exc))
        ) from None
    finally:
        conn.close()


def error_message(exc: Any) -> str:
    """The message of a ``libvirt.libvirtError``, for one-line errors."""
    message: str = exc.get_error_message() or str(exc)
    return message
