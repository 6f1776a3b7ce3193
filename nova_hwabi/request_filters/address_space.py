"""Request filter: the traits of the maxphysaddr request, before Placement.

The request itself (flavor and image read into one
:class:`~nova_hwabi.address_space.AddressSpaceRequest`) lives in
:mod:`nova_hwabi.address_space`, shared with the API validators, the host
filters and the compute driver.
"""

from __future__ import annotations

from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from nova_hwabi.address_space import AddressSpaceRequestError, translate

LOG = logging.getLogger(__name__)


def address_space_filter(
    conf: cfg.ConfigOpts, ctxt: Any, request_spec: Any,
) -> bool:
    """Request filter: require the traits of the maxphysaddr request.

    Adds the address-space trait (and, with ``[hwabi_scheduler]
    require_bits_ladder``, the bits-ladder trait) to
    ``request_spec.root_required``. An invalid request adds nothing and is
    logged; the host filters then reject every host with the same reason.
    """
    flavor = request_spec.flavor
    extra_specs = flavor.extra_specs if "extra_specs" in flavor else {}
    image = request_spec.image if "image" in request_spec else None
    properties = image.properties if image is not None else None
    try:
        request = translate(
            extra_specs, properties,
            bits_ladder=conf.hwabi_scheduler.require_bits_ladder,
        )
    except AddressSpaceRequestError as exc:
        LOG.warning("Instance %s: %s", request_spec.instance_uuid, exc)
        return False
    if not request.required_traits:
        return False
    request_spec.root_required.update(request.required_traits)
    LOG.debug("address_space request filter: %s requires %s",
              request.describe(), ", ".join(sorted(request.required_traits)))
    return True
