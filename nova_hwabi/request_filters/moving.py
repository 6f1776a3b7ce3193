"""The instance behind a scheduling request, as the scheduler may read it.

A RequestSpec for a move (live or cold migration, resize, evacuation,
unshelve) names an instance that already lives in a cell; a new boot's
instance is mapped to no cell yet. :func:`moving_instance` reads what the
move filters need of it, once per request, through the helper the
``recorded_devices`` request filter uses too
(:func:`nova_hwabi.machine_type.records.instance_scheduling_state`): one
API database query (``InstanceMapping``) and, for an instance in a cell,
one cell query.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nova_hwabi.machine_type import records


@dataclass(frozen=True, slots=True)
class MovingInstance:
    """An existing instance's state while it is being scheduled."""

    uuid: str
    task_state: str | None
    system_metadata: Mapping[str, str]


def moving_instance(ctxt: Any, instance_uuid: str | None
                    ) -> MovingInstance | None:
    """The instance ``instance_uuid`` if it exists in a cell, else None.

    ``ctxt`` is a Nova RequestContext allowed to read the API and cell
    databases (the scheduler's, elevated). None for a new boot (mapped to
    no cell yet), an unknown or a deleted instance. Database errors are
    raised to the caller, which logs them and lets the request go on.
    """
    if not instance_uuid:
        return None
    state = records.instance_scheduling_state(ctxt, instance_uuid)
    if state is None:
        return None
    return MovingInstance(uuid=instance_uuid, task_state=state.task_state,
                          system_metadata=state.system_metadata)
