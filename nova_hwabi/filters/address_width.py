"""AddressWidthFilter: moved passthrough guests keep their address width.

The host-side twin of the ``address_width`` request filter, for
deployments without the bits ladder (and as the exact check with it).
Enable it by name::

    [filter_scheduler]
    available_filters = nova.scheduler.filters.all_filters
    available_filters = nova_hwabi.filters.all_filters
    enabled_filters = ...,AddressWidthFilter

Per request (``prepare``, once): for a move of a passthrough guest, the
width recorded for it and ``[hwabi_scheduler] live_move_address_width`` /
``cold_move_address_width`` give the bounds (one API database query and
one cell query; nothing for other requests). Per host: the bits from the
host's cpu_info JSON string, compared with those bounds. A host reporting
no bits follows ``[hwabi_scheduler] unknown_host_bits``.
"""

from __future__ import annotations

from typing import Any

from nova_hwabi.address_width import WidthBounds
from nova_hwabi.filters import base, host_data
from nova_hwabi.request_filters.address_width import move_bounds_for_request


class _Prepared:
    """The bounds of one request and the unknown-bits policy."""

    __slots__ = ("bits_policy", "bounds")

    def __init__(self, bounds: WidthBounds | None,
                 bits_policy: str) -> None:
        self.bounds = bounds
        self.bits_policy = bits_policy


_NOTHING = _Prepared(None, "accept")


class AddressWidthFilter(base.PrefilteredHostFilter[_Prepared]):
    """Hosts whose address width keeps a moved passthrough guest's."""

    run_filter_once_per_request = True
    # A rebuild stays on its host; its width does not change.
    RUN_ON_REBUILD = False

    def prepare(self, spec_obj: Any) -> _Prepared:
        """The move's width bounds, read once per request."""
        from nova import context as nova_context

        try:
            bounds = move_bounds_for_request(
                base.CONF, nova_context.get_admin_context(), spec_obj)
        except Exception as exc:  # the scheduler never fails on our read
            base.LOG.warning("AddressWidthFilter: instance %s: recorded "
                             "width not read, hosts are not narrowed by "
                             "width: %s", spec_obj.instance_uuid, exc)
            return _NOTHING
        if bounds is None:
            return _NOTHING
        base.LOG.debug("AddressWidthFilter: instance %s needs %s (%s)",
                       spec_obj.instance_uuid, bounds.describe(),
                       bounds.reason)
        return _Prepared(bounds, base.unknown_bits_policy())

    def reject_reason(self, host_state: Any,
                      prepared: _Prepared) -> str | None:
        """Why ``host_state``'s width does not fit the move, or None."""
        bounds = prepared.bounds
        if bounds is None:
            return None
        bits = host_data.host_bits(host_state)
        if bits is None:
            if prepared.bits_policy == "accept":
                return None
            return ("host reports no maxphysaddr bits, the move needs %s "
                    "(%s; [hwabi_scheduler] unknown_host_bits = reject)"
                    % (bounds.describe(), bounds.reason))
        if bounds.admits(bits):
            return None
        return "maxphysaddr bits %d, the move needs %s (%s)" % (
            bits, bounds.describe(), bounds.reason)
