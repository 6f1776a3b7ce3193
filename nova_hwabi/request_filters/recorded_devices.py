"""Request filter: a moving instance only reaches hosts with its devices.

Opt-in: add ``recorded_devices`` to ``[hwabi_scheduler] request_filters``.
An instance's guest is defined from the device buses and models recorded
in its system metadata (``image_hw_disk_bus``, ``image_hw_cdrom_bus``,
``image_hw_video_model``, ``image_hw_vif_model``; Nova records its
defaults there at boot), but Nova's image-metadata prefilter
(``[scheduler] image_metadata_prefilter``) only reads the RequestSpec's
image, which holds what the image asked for, not those defaults. For a
request about an existing instance (cold or live migration, resize,
evacuation, unshelve) this filter requires Nova's own trait for each
recorded value (``COMPUTE_GRAPHICS_MODEL_QXL`` for a recorded ``qxl``),
mapped as Nova maps image properties, so the move only reaches hosts whose
QEMU has the device instead of failing to start there. New boots (the
instance is not in a cell yet) and rebuilds (same host, new image) are
left to Nova.

Cost: one API database lookup per request, plus one cell query when the
instance exists.
"""

from __future__ import annotations

from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from nova_hwabi.machine_type import offered, records

LOG = logging.getLogger(__name__)


def recorded_devices_filter(
    conf: cfg.ConfigOpts, ctxt: Any, request_spec: Any,
) -> bool:
    """Require the device traits of a moving instance's recorded devices.

    Returns True when traits were added. Never raises for a missing or
    unknown instance (a new boot); database errors reach the dispatcher,
    which logs them and lets the request go on.
    """
    from nova.scheduler import utils as scheduler_utils  # a Nova process

    instance_uuid = request_spec.instance_uuid if (
        "instance_uuid" in request_spec) else None
    # A rebuild on the same host (Nova's _nova_check_type hint) is the
    # one scheduling of an existing instance whose devices come from a
    # new image.
    if not instance_uuid or scheduler_utils.request_is_rebuild(
            request_spec):
        return False
    elevated = ctxt.elevated() if hasattr(ctxt, "elevated") else ctxt
    metadata = records.instance_system_metadata(elevated, instance_uuid)
    if metadata is None:
        return False
    required = offered.device_traits(metadata)
    for name, (value, trait) in sorted(required.items()):
        request_spec.root_required.add(trait)
        LOG.debug("recorded_devices request filter: instance %s recorded "
                  "%s=%s, requires %s", instance_uuid, name, value, trait)
    return bool(required)
