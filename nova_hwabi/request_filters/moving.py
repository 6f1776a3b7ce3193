"""The instance behind a scheduling request, as the scheduler may read it.

A RequestSpec for a move (live or cold migration, resize, evacuation,
unshelve) names an instance that already lives in a cell; a new boot's
instance is mapped to no cell yet. :func:`moving_instance` reads what the
move filters need of it, once per request: one API database query
(``InstanceMapping``) and, for an instance in a cell, one cell query
(``Instance`` joined with its system metadata).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MovingInstance:
    """An existing instance's state while it is being scheduled."""

    uuid: str
    task_state: str | None
    host: str | None
    system_metadata: Mapping[str, str]


def moving_instance(ctxt, instance_uuid: str | None
                    ) -> MovingInstance | None:
    """The instance ``instance_uuid`` if it exists in a cell, else None.

    ``ctxt`` is a Nova RequestContext allowed to read the API and cell
    databases (the scheduler's, elevated). None for a new boot (mapped to
    no cell yet), an unknown or a deleted instance. Database errors are
    raised to the caller, which logs them and lets the request go on.
    """
    if not instance_uuid:
        return None
    from nova import context as nova_context
    from nova import exception, objects

    try:
        mapping = objects.InstanceMapping.get_by_instance_uuid(
            ctxt, instance_uuid)
    except exception.InstanceMappingNotFound:
        return None
    if mapping.cell_mapping is None:
        return None
    with nova_context.target_cell(ctxt, mapping.cell_mapping) as cctxt:
        try:
            instance = objects.Instance.get_by_uuid(
                cctxt, instance_uuid, expected_attrs=["system_metadata"])
        except exception.InstanceNotFound:
            return None
    return MovingInstance(
        uuid=instance.uuid,
        task_state=instance.task_state,
        host=instance.host,
        system_metadata=dict(instance.system_metadata),
    )
