"""Request filter: moved passthrough guests keep their address width.

For a move (live or cold migration, resize, evacuation, unshelve) of a
guest with ``hw:maxphysaddr_mode=passthrough``, the width recorded for it
(:mod:`nova_hwabi.address_width`) and ``[hwabi_scheduler]
live_move_address_width`` / ``cold_move_address_width`` give the host
bits a destination must have. With ``[hwabi_scheduler]
require_bits_ladder`` this filter makes Placement do the narrowing: it
requires ``CUSTOM_HWABI_MAXPHYSADDR_BITS_<low>`` and, for an exact width,
forbids ``CUSTOM_HWABI_MAXPHYSADDR_BITS_<high + 1>``
(``request_spec.root_forbidden``), so Placement returns exactly the hosts
of that width. Without the ladder it adds nothing and the host filter
``AddressWidthFilter`` (:mod:`nova_hwabi.filters.address_width`), which
shares :func:`move_bounds_for_request`, enforces the same bounds.

Cost: nothing for requests that are not passthrough; for passthrough ones
one API database query and, for an existing instance, one cell query.
"""

from __future__ import annotations

from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from nova_hwabi import address_width
from nova_hwabi.address_space import (
    PASSTHROUGH,
    AddressSpaceRequestError,
    translate,
)
from nova_hwabi.request_filters import moving

LOG = logging.getLogger(__name__)


def _passthrough_requested(request_spec: Any) -> bool:
    flavor = request_spec.flavor if "flavor" in request_spec else None
    extra_specs = (flavor.extra_specs
                   if flavor is not None and "extra_specs" in flavor else {})
    image = request_spec.image if "image" in request_spec else None
    properties = image.properties if image is not None else None
    try:
        request = translate(extra_specs, properties)
    except AddressSpaceRequestError:
        return False  # address_space and the host filters report it
    return request.mode == PASSTHROUGH


def move_bounds_for_request(
    conf: cfg.ConfigOpts, ctxt: Any, request_spec: Any,
) -> address_width.WidthBounds | None:
    """The destination bits the request's move accepts, or None.

    None when the request is not a move, not passthrough (the request's
    own flavor and image decide: a resize to a flavor without passthrough
    frees the guest), has no usable recorded width, or the option for its
    kind of move is ``any``. Database errors are raised: the callers log
    them and let the request go on as Nova would.
    """
    if not _passthrough_requested(request_spec):
        return None
    instance_uuid = (request_spec.instance_uuid
                     if "instance_uuid" in request_spec else None)
    hints = (request_spec.scheduler_hints
             if "scheduler_hints" in request_spec else None)
    if hints and hints.get(address_width.REBUILD_HINT) == ["rebuild"]:
        return None  # a rebuild stays on its host: no lookup needed
    instance = moving.moving_instance(ctxt, instance_uuid)
    if instance is None:
        return None
    kind = address_width.move_kind(instance.task_state, hints)
    if kind is None:
        return None
    try:
        width = address_width.recorded_width(instance.system_metadata)
    except address_width.RecordedWidthError as exc:
        LOG.warning("Instance %s: recorded address width not usable, its %s "
                    "move is not narrowed by width: %s", instance_uuid,
                    kind, exc)
        return None
    if width is None:
        LOG.info("Instance %s: passthrough guest with no recorded address "
                 "width (spawned before nova-hwabi's driver recorded it); "
                 "its %s move is not narrowed by width", instance_uuid, kind)
        return None
    policy = getattr(conf.hwabi_scheduler, "%s_move_address_width" % kind)
    return address_width.move_bounds(width, policy, kind)


def address_width_filter(
    conf: cfg.ConfigOpts, ctxt: Any, request_spec: Any,
) -> bool:
    """Require/forbid bits-ladder traits so a move keeps the guest's width.

    Acts only with ``[hwabi_scheduler] require_bits_ladder``; returns True
    when it added traits.
    """
    if not conf.hwabi_scheduler.require_bits_ladder:
        return False
    elevated = ctxt.elevated() if hasattr(ctxt, "elevated") else ctxt
    bounds = move_bounds_for_request(conf, elevated, request_spec)
    if bounds is None:
        return False
    required, forbidden = address_width.ladder_traits(
        bounds, conf.hwabi_capabilities.bits_ladder_min)
    request_spec.root_required.update(required)
    request_spec.root_forbidden.update(forbidden)
    LOG.info("Instance %s: destination must have %s (%s): Placement "
             "requires %s and forbids %s", request_spec.instance_uuid,
             bounds.describe(), bounds.reason,
             ", ".join(sorted(required)) or "nothing",
             ", ".join(sorted(forbidden)) or "nothing")
    return bool(required or forbidden)
