"""Request filter: only hosts whose QEMU offers the recorded machine type.

Opt-in: add ``machine_type`` to ``[hwabi_scheduler] request_filters``
once every compute host reports its machine types
(``[hwabi_capabilities] report_machine_type_traits``). For a request whose
image carries ``hw_machine_type`` (nova-hwabi-manage and the recorder keep
an instance's recorded type there, so moves carry it) it requires
``CUSTOM_HWABI_MACHINE_<ARCH>_<TYPE>``, so a move of a guest pinned to
``pc-q35-7.2`` only reaches hosts whose QEMU still has it, instead of
failing late on the destination.
"""

from __future__ import annotations

from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from nova_hwabi import traits
from nova_hwabi.machine_type import names

LOG = logging.getLogger(__name__)


def machine_type_filter(
    conf: cfg.ConfigOpts, ctxt: Any, request_spec: Any,
) -> bool:
    """Require the machine-type trait of the request's hw_machine_type."""
    image = request_spec.image if "image" in request_spec else None
    # Nova's ImageMetaProps or None; Any, as it is read below only once
    # machine_type shows it is there.
    properties: Any = image.properties if image is not None else None
    machine_type = properties.get("hw_machine_type") if properties else None
    if not machine_type:
        return False
    try:
        names.parse_machine_type(machine_type)
    except names.UnsupportedMachineType as exc:
        LOG.warning("Instance %s: %s; no machine-type trait required",
                    request_spec.instance_uuid, exc)
        return False
    arch = (properties.get("hw_architecture")
            or conf.hwabi_scheduler.default_guest_arch)
    trait = traits.machine_type_trait(arch, machine_type)
    request_spec.root_required.add(trait)
    LOG.debug("machine_type request filter: %s requires %s",
              machine_type, trait)
    return True
