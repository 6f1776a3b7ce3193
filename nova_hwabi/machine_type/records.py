"""One instance's records in Nova's databases: machine type and devices.

Reads and writes a single instance, found the way nova-manage finds it
(API database ``InstanceMapping`` -> ``target_cell`` -> the cell's
``Instance``): :func:`get_machine_type`, :func:`update_machine_type`,
:func:`image_properties` and :func:`set_image_properties`, the recorder's
:func:`load_record` and :func:`apply_change`, and what the scheduler reads
per request (:func:`instance_system_metadata`,
:func:`instance_scheduling_state`). Listings across cells and the fleet
transition are in :mod:`nova_hwabi.machine_type.listings`.

The values are kept where Nova reads them: ``instance.system_metadata``
under ``image_<property>``. nova-hwabi also keeps the versioned machine
type the guest really runs under :data:`PINNED_KEY`, and every update is
written to the instance's RequestSpec image too, because moves rebuild the
guest from it (upstream defect: a cold migration turned ``pc`` into
``q35``).

Both modules reach Nova through :func:`nova_modules` (imported on use) and
read a cell's rows through :func:`read_in_cell`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from oslo_log import log as logging
from oslo_utils import uuidutils

from nova_hwabi.machine_type import arches, devices, names, updates
from nova_hwabi.machine_type.sysmeta import (
    ARCH_KEY,
    IMAGE_PREFIX,
    PINNED_KEY,
    RECORDED_KEY,
)

if TYPE_CHECKING:
    from nova_hwabi.machine_type.hooks import InstanceRecord, RecordChange

LOG = logging.getLogger(__name__)

# ``offered_for(arch, machine_type)``: the machine types hosts report for
# ``arch`` (see arches.check_machine_type_arch), None when none report.
OfferedFor = Callable[[str, str], "Iterable[str] | None"]


class RecordError(Exception):
    """An instance record could not be read or changed."""


class UnknownInstanceError(RecordError):
    """No instance (or instance mapping) with that UUID."""


class InvalidStateError(RecordError):
    """The instance's vm_state does not allow the change."""


class CellDatabaseError(RecordError):
    """A cell's database cannot be read: its driver is not installed, it
    cannot be reached, or it is not a Nova cell database.

    A configuration problem of that cell mapping (its
    ``database_connection``); the message is one line naming the cell
    (name and UUID), what is wrong, and how to fix it. ``cell_uuid`` and
    ``cell_name`` say which cell.
    """

    def __init__(self, message: str, cell_uuid: str,
                 cell_name: str | None) -> None:
        super().__init__(message)
        self.cell_uuid = cell_uuid
        self.cell_name = cell_name

    def to_dict(self) -> dict[str, str | None]:
        """JSON-ready view: ``cell``, ``name``, ``error``."""
        return {"cell": self.cell_uuid, "name": self.cell_name,
                "error": str(self)}


def _oslo_db_exceptions() -> Any:
    """oslo.db's exception module (Nova's database layer), on use."""
    from oslo_db import exception  # type: ignore[import-untyped]

    return exception


def _cell_database_errors() -> tuple[type[BaseException], ...]:
    """What reading a cell's database raises when its
    ``database_connection`` cannot be used: ImportError (the URL's
    Python driver, e.g. pymysql, is not installed; SQLAlchemy imports it
    when the engine starts), oslo.db's DBError (cannot connect, no such
    table) and SQLAlchemy's own errors (a URL it cannot parse)."""
    from sqlalchemy import exc as sa_exception

    db_exception = _oslo_db_exceptions()
    return (ImportError, db_exception.DBError,
            sa_exception.SQLAlchemyError)


def _cell_database_reason(exc: BaseException) -> str:
    db_exception = _oslo_db_exceptions()
    if isinstance(exc, ImportError):
        return ("its URL needs the Python database "
                "driver %s, which is not installed here"
                % (exc.name or exc))
    if isinstance(exc, db_exception.DBNonExistentTable):
        return ("it has no %s table: not a Nova cell database (nova-manage "
                "db sync creates the tables)" % exc.table)
    if isinstance(exc, db_exception.DBConnectionError):
        kind = "cannot connect"
    else:
        kind = type(exc).__name__
    first_line = (str(exc).strip().splitlines() or [""])[0][:200]
    return "%s: %s" % (kind, first_line)


@contextlib.contextmanager
def reading_cell(cell: Any) -> Iterator[None]:
    """Turn a failure to read ``cell``'s database into
    :class:`CellDatabaseError` naming the cell; nothing else is caught."""
    try:
        yield
    except _cell_database_errors() as exc:
        name = cell.name if cell.obj_attr_is_set("name") else None
        label = "%r (%s)" % (name, cell.uuid) if name else cell.uuid
        LOG.debug("Reading cell %s failed", cell.uuid, exc_info=True)
        raise CellDatabaseError(
            "cannot read the database of cell %s: %s; fix its "
            "database_connection (nova-manage cell_v2 update_cell "
            "--cell_uuid %s --database_connection URL)"
            % (label, _cell_database_reason(exc), cell.uuid),
            cell.uuid, name) from exc


@dataclass(frozen=True)
class InstanceMachineType:
    """What is recorded for one instance."""

    uuid: str
    cell: str
    vm_state: str
    host: str | None
    node: str | None
    recorded: str | None
    pinned: str | None

    def to_dict(self) -> dict[str, str | None]:
        """JSON-ready view."""
        return dict(self.__dict__)


def nova_modules() -> tuple[Any, Any, Any]:
    """Nova's ``context``, ``exception`` and ``objects`` modules, objects
    registered.

    Imported on use: the rules and hooks work without Nova installed.
    """
    from nova import context as nova_context
    from nova import exception, objects

    objects.register_all()
    return nova_context, exception, objects


def read_in_cell(ctxt: Any, cell: Any, query: Any) -> list[Any]:
    """The rows of ``query`` in ``cell``, in a reader session of its own.

    Raises :class:`CellDatabaseError` when the cell's database cannot be
    read."""
    from nova import context as nova_context
    from nova.db.main import api as db_api

    with reading_cell(cell), \
            nova_context.target_cell(ctxt, cell) as cctxt, \
            db_api.get_context_manager(cctxt).reader.using(cctxt) \
            as session:
        rows: list[Any] = session.execute(query).all()
        return rows


def _locate(ctxt: Any, instance_uuid: str) -> tuple[Any, Any]:
    """The instance's cell mapping and the instance, with system metadata.

    Raises UnknownInstanceError, and CellDatabaseError when the database
    of the instance's cell cannot be read."""
    nova_context, exception, objects = nova_modules()
    if not uuidutils.is_uuid_like(instance_uuid):
        raise UnknownInstanceError(
            "%r is not an instance UUID (openstack server list shows them)"
            % instance_uuid)
    try:
        mapping = objects.InstanceMapping.get_by_instance_uuid(
            ctxt, instance_uuid
        )
    except exception.InstanceMappingNotFound:
        raise UnknownInstanceError(
            "no instance %s in the API database (check the UUID, and that "
            "[api_database] connection points at this deployment)"
            % instance_uuid
        ) from None
    if mapping.cell_mapping is None:
        raise UnknownInstanceError(
            "instance %s is not mapped to a cell yet (still being "
            "scheduled?)" % instance_uuid
        )
    with reading_cell(mapping.cell_mapping), \
            nova_context.target_cell(ctxt, mapping.cell_mapping) as cctxt:
        try:
            instance = objects.Instance.get_by_uuid(
                cctxt, instance_uuid, expected_attrs=["system_metadata"]
            )
        except exception.InstanceNotFound:
            raise UnknownInstanceError(
                "instance %s is mapped to cell %s but not found there "
                "(deleted?)" % (instance_uuid, mapping.cell_mapping.uuid)
            ) from None
    return mapping.cell_mapping, instance


def _view(cell: Any, instance: Any) -> InstanceMachineType:
    metadata = instance.system_metadata
    return InstanceMachineType(
        uuid=instance.uuid, cell=cell.uuid, vm_state=instance.vm_state,
        host=instance.host, node=instance.node,
        recorded=metadata.get(RECORDED_KEY),
        pinned=metadata.get(PINNED_KEY),
    )


def get_machine_type(ctxt: Any, instance_uuid: str) -> InstanceMachineType:
    """The machine types recorded for an instance, in whichever cell."""
    cell, instance = _locate(ctxt, instance_uuid)
    return _view(cell, instance)


def _check_updatable(instance: Any) -> None:
    if instance.vm_state not in updates.UPDATABLE_VM_STATES:
        raise InvalidStateError(
            "instance %s is %s: stop or shelve it first (allowed: %s)"
            % (instance.uuid, instance.vm_state,
               ", ".join(updates.UPDATABLE_VM_STATES))
        )


def _save_request_spec_image(ctxt: Any, instance_uuid: str,
                             properties: dict[str, str | None]) -> bool:
    """Mirror image property changes into the RequestSpec; True if saved."""
    _, exception, objects = nova_modules()
    try:
        spec = objects.RequestSpec.get_by_instance_uuid(ctxt, instance_uuid)
    except exception.RequestSpecNotFound:
        LOG.warning("Instance %s has no RequestSpec; only its system "
                    "metadata was updated", instance_uuid)
        return False
    image_props = spec.image.properties
    for name, value in properties.items():
        if value is None:
            if name in image_props:
                delattr(image_props, name)
        else:
            setattr(image_props, name, value)
    spec.save()
    return True


def instance_arch(instance: Any, default_arch: str) -> str:
    """The guest architecture of an instance: its recorded image's
    ``hw_architecture`` (Nova's canonical name), else ``default_arch``."""
    arch: str = instance.system_metadata.get(ARCH_KEY) or default_arch
    return arch


def update_machine_type(ctxt: Any, instance_uuid: str, machine_type: str, *,
                        force: bool = False, default_arch: str = "x86_64",
                        offered_for: OfferedFor | None = None,
                        ) -> tuple[str | None, str]:
    """Record ``machine_type`` for a stopped or shelved instance.

    The name is always checked (``UnsupportedMachineType``) and so is the
    vm_state (``InvalidStateError``). Without ``force`` the machine type
    must also suit the instance's architecture (``hw_architecture`` as
    recorded, else ``default_arch``): refused with
    :class:`~nova_hwabi.machine_type.arches.MachineTypeArchError` (an
    ``InvalidMachineTypeUpdate``) when only other architectures' QEMU has
    it, or when hosts report their machine types and none offers it.
    ``offered_for(arch, machine_type)`` gives what hosts report (see
    :func:`~nova_hwabi.machine_type.arches.check_machine_type_arch`), None
    to use QEMU's documented lists alone. ``force`` skips the family,
    variant and downgrade rules, and turns an architecture refusal into a
    logged warning. Returns (previous, new).
    """
    parsed = names.parse_machine_type(machine_type)
    _, instance = _locate(ctxt, instance_uuid)
    previous: str | None = instance.system_metadata.get(RECORDED_KEY)
    if previous == machine_type:
        # Nothing changes for the guest, whatever its state; still make
        # sure the pin and the RequestSpec carry it (Nova or upstream
        # nova-manage may have recorded it without them).
        _complete_record(ctxt, instance, parsed)
        return previous, machine_type
    _check_updatable(instance)
    arch = instance_arch(instance, default_arch)
    offered = offered_for(arch, machine_type) if offered_for else None
    try:
        arches.check_machine_type_arch(machine_type, arch, offered)
    except arches.MachineTypeArchError as exc:
        if not force:
            raise
        LOG.warning("Forced past: %s", exc)
    if previous and force:
        LOG.warning("Forcing instance %s from machine type %s to %s: the "
                    "guest's hardware changes at its next start",
                    instance_uuid, previous, machine_type)
    elif previous:
        updates.check_update(previous, machine_type)
    # The instance keeps the cell-targeted context it was loaded with, so
    # save() writes to its own cell.
    instance.system_metadata[RECORDED_KEY] = machine_type
    if parsed.is_alias:
        instance.system_metadata.pop(PINNED_KEY, None)
    else:
        instance.system_metadata[PINNED_KEY] = machine_type
    instance.save()
    _save_request_spec_image(ctxt, instance_uuid,
                             {"hw_machine_type": machine_type})
    return previous, machine_type


def _complete_record(ctxt: Any, instance: Any,
                     parsed: names.MachineType) -> None:
    metadata = instance.system_metadata
    if not parsed.is_alias and metadata.get(PINNED_KEY) != parsed.name:
        metadata[PINNED_KEY] = parsed.name
        instance.save()
    _save_request_spec_image(ctxt, instance.uuid,
                             {"hw_machine_type": parsed.name})


def image_properties(ctxt: Any, instance_uuid: str) -> dict[str, str]:
    """The image properties recorded in the instance's system metadata."""
    _, instance = _locate(ctxt, instance_uuid)
    metadata: dict[str, str] = instance.system_metadata
    return {key[len(IMAGE_PREFIX):]: value
            for key, value in sorted(metadata.items())
            if key.startswith(IMAGE_PREFIX)}


def set_image_properties(
    ctxt: Any, instance_uuid: str, changes: dict[str, str | None],
) -> dict[str, tuple[str | None, str | None]]:
    """Set (value) or unset (None) device bus/model properties.

    Every name and value is validated before anything is written, against
    the instance's recorded machine type; the instance must be stopped or
    shelved. Returns {name: (previous, new)} with the values as stored.
    """
    _, instance = _locate(ctxt, instance_uuid)
    _check_updatable(instance)
    metadata = instance.system_metadata
    machine_type = metadata.get(PINNED_KEY) or metadata.get(RECORDED_KEY)
    # None unsets the property.
    normalised: dict[str, str | None] = {}
    for name, value in changes.items():
        if value is None:
            devices.check_image_property_name(name, "unset")
            normalised[name] = None
        else:
            normalised[name] = devices.validate_image_property(
                name, value, machine_type
            )
    changed = {name: (metadata.get(IMAGE_PREFIX + name), value)
               for name, value in normalised.items()}
    for name, value in normalised.items():
        if value is None:
            metadata.pop(IMAGE_PREFIX + name, None)
        else:
            metadata[IMAGE_PREFIX + name] = value
    instance.save()
    _save_request_spec_image(ctxt, instance_uuid, normalised)
    return changed


def load_record(ctxt: Any, instance_uuid: str,
                arch: str | None = None) -> InstanceRecord:
    """The instance as the recording hooks see it."""
    from nova_hwabi.machine_type.hooks import InstanceRecord

    _, instance = _locate(ctxt, instance_uuid)
    return InstanceRecord(
        uuid=instance.uuid, vm_state=instance.vm_state, arch=arch,
        system_metadata=dict(instance.system_metadata),
    )


def apply_change(ctxt: Any, instance_uuid: str,
                 change: RecordChange) -> None:
    """Write a hooks.RecordChange to the instance and its RequestSpec."""
    if change.empty:
        return
    _, instance = _locate(ctxt, instance_uuid)
    for key, value in change.set.items():
        instance.system_metadata[key] = value
    for key in change.unset:
        instance.system_metadata.pop(key, None)
    instance.save()
    image_changes: dict[str, str | None] = {
        key[len(IMAGE_PREFIX):]: value
        for key, value in change.set.items() if key.startswith(IMAGE_PREFIX)
    }
    image_changes.update({
        key[len(IMAGE_PREFIX):]: None
        for key in change.unset if key.startswith(IMAGE_PREFIX)
    })
    if image_changes:
        _save_request_spec_image(ctxt, instance_uuid, image_changes)


def instance_system_metadata(ctxt: Any,
                             instance_uuid: str) -> dict[str, str] | None:
    """An existing instance's system metadata ({key: value}), or None
    when the instance is not in a cell (a new boot still being scheduled,
    or no such instance).

    What a scheduler-side request filter may call per request; see
    :func:`instance_scheduling_state`.
    """
    state = instance_scheduling_state(ctxt, instance_uuid)
    return None if state is None else state.system_metadata


@dataclass(frozen=True)
class SchedulingState:
    """What the scheduler's move filters read of an existing instance:
    its ``task_state`` (which kind of move, set by Nova's API before the
    scheduler is called) and its system metadata."""

    task_state: str | None
    system_metadata: dict[str, str]


def instance_scheduling_state(ctxt: Any, instance_uuid: str
                              ) -> SchedulingState | None:
    """The instance's task state and system metadata, or None when it is
    not in a cell (a new boot still being scheduled, no such instance, or
    deleted).

    One API database lookup (InstanceMapping) and, for instances in a
    cell, one indexed query of that cell (the instance row outer-joined
    with its system metadata), without loading an Instance object.
    Database errors are raised to the caller.
    """
    import sqlalchemy as sa
    from nova.db.main import models

    _, exception, objects = nova_modules()
    try:
        mapping = objects.InstanceMapping.get_by_instance_uuid(
            ctxt, instance_uuid)
    except exception.InstanceMappingNotFound:
        return None
    if mapping.cell_mapping is None:
        return None
    metadata = models.InstanceSystemMetadata
    instance = models.Instance
    query = sa.select(instance.task_state, metadata.key,
                      metadata.value).outerjoin(
        metadata, sa.and_(metadata.instance_uuid == instance.uuid,
                          metadata.deleted == 0),
    ).where(instance.uuid == instance_uuid, instance.deleted == 0)
    rows = read_in_cell(ctxt, mapping.cell_mapping, query)
    if not rows:
        return None
    return SchedulingState(
        task_state=rows[0].task_state,
        system_metadata={row.key: row.value for row in rows
                         if row.key is not None})
