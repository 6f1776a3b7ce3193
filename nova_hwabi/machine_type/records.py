"""Instance records in Nova's databases: machine types and device models.

Reaches instances the way nova-manage does (API database
``InstanceMapping`` -> ``target_cell`` -> the cell's ``Instance``) and keeps
the values where Nova reads them: ``instance.system_metadata`` under
``image_<property>``. nova-hwabi also keeps the versioned machine type the
guest really runs under :data:`PINNED_KEY`, and every update is written to
the instance's RequestSpec image too, because moves rebuild the guest from
it (upstream defect: a cold migration turned ``pc`` into ``q35``).
"""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

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
    from nova_hwabi.machine_type import transition as plans_module
    from nova_hwabi.machine_type.hooks import InstanceRecord, RecordChange

LOG = logging.getLogger(__name__)

# ``offered_for(arch, machine_type)``: the machine types hosts report for
# ``arch`` (see arches.check_machine_type_arch), None when none report.
OfferedFor = Callable[[str, str], "Iterable[str] | None"]
_Item = TypeVar("_Item")

UPDATABLE_VM_STATES = ("stopped", "shelved", "shelved_offloaded")
# Nova's libvirt driver reports this hypervisor_type for QEMU and KVM alike.
LIBVIRT_HYPERVISOR_TYPE = "QEMU"


class RecordError(Exception):
    """An instance record could not be read or changed."""


class UnknownInstanceError(RecordError):
    """No instance (or instance mapping) with that UUID."""


class UnknownCellError(RecordError):
    """No cell mapping with that UUID."""


class InvalidStateError(RecordError):
    """The instance's vm_state does not allow the change."""


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


def _nova() -> tuple[Any, Any, Any]:
    # Imported on use: the rules and hooks work without Nova installed.
    from nova import context as nova_context
    from nova import exception, objects

    objects.register_all()
    return nova_context, exception, objects


def _locate(ctxt: Any, instance_uuid: str) -> tuple[Any, Any]:
    """The instance's cell mapping and the instance, with system metadata."""
    nova_context, exception, objects = _nova()
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
    with nova_context.target_cell(ctxt, mapping.cell_mapping) as cctxt:
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
    if instance.vm_state not in UPDATABLE_VM_STATES:
        raise InvalidStateError(
            "instance %s is %s: stop or shelve it first (allowed: %s)"
            % (instance.uuid, instance.vm_state,
               ", ".join(UPDATABLE_VM_STATES))
        )


def _save_request_spec_image(ctxt: Any, instance_uuid: str,
                             properties: dict[str, str | None]) -> bool:
    """Mirror image property changes into the RequestSpec; True if saved."""
    _, exception, objects = _nova()
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


@dataclass(frozen=True)
class UnsetInstance:
    """An instance with no recorded machine type."""

    uuid: str
    cell: str
    vm_state: str
    host: str | None
    node: str | None

    def to_dict(self) -> dict[str, str | None]:
        """JSON-ready view."""
        return dict(self.__dict__)


def _cells(ctxt: Any, cell_uuid: str | None) -> list[Any]:
    _, exception, objects = _nova()
    if cell_uuid:
        if not uuidutils.is_uuid_like(cell_uuid):
            raise UnknownCellError(
                "%r is not a cell UUID (nova-manage cell_v2 list_cells "
                "shows them)" % cell_uuid)
        try:
            return [objects.CellMapping.get_by_uuid(ctxt, cell_uuid)]
        except exception.CellMappingNotFound:
            raise UnknownCellError("no cell %s" % cell_uuid) from None
    # cell0 holds instances that never got a host: nothing to record.
    return sorted((c for c in objects.CellMappingList.get_all(ctxt)
                   if not c.is_cell0()), key=lambda c: c.uuid)


class InvalidMarkerError(RecordError):
    """A ``--marker`` that is malformed or names no listed instance."""


# An opaque marker: the cell's UUID and the ``instances.id`` of the last
# instance listed there, e.g. "<cell uuid>:1234".
MARKER_SEPARATOR = ":"


def encode_marker(cell_uuid: str, instance_id: int) -> str:
    """The marker resuming after instance ``instance_id`` of a cell."""
    return "%s%s%d" % (cell_uuid, MARKER_SEPARATOR, instance_id)


class Page(list[_Item], Generic[_Item]):
    """One page of a listing, in walk order, and where the next starts:
    ``next_marker`` (None when nothing is left)."""

    next_marker: str | None = None


def _canonical_uuid(text: str) -> str | None:
    """``text`` as Nova stores UUIDs (lower case, dashed), or None when
    it is no UUID."""
    from oslo_utils import uuidutils

    if not uuidutils.is_uuid_like(text):
        return None
    return str(uuid_module.UUID(text))


def _instance_id_in_cell(ctxt: Any, cell: Any,
                         instance_uuid: str) -> int | None:
    """``instances.id`` of ``instance_uuid`` in ``cell`` (deleted rows
    too: a listed instance may be deleted before the next page), else
    None. One unique-index lookup."""
    import sqlalchemy as sa
    from nova.db.main import models

    query = sa.select(models.Instance.id).where(
        models.Instance.uuid == instance_uuid)
    rows = _read(ctxt, cell, query)
    found: int | None = rows[0].id if rows else None
    return found


def _start(ctxt: Any, cells: list[Any],
           marker: str | None) -> tuple[int, int | None]:
    """(index in ``cells``, instance id) to resume after; (0, None) to
    start at the beginning.

    ``marker`` is either a marker a previous page printed
    (``CELL_UUID:ID``) or, as nova-manage takes it, the UUID of the last
    instance listed. Raises :class:`InvalidMarkerError` saying what is
    wrong with it.
    """
    if marker is None:
        return 0, None
    listed = [cell.uuid for cell in cells]
    text = marker.strip()
    cell_text, separator, position = text.partition(MARKER_SEPARATOR)
    if separator:
        cell_uuid = _canonical_uuid(cell_text)
        if not (cell_uuid and position.isascii() and position.isdigit()):
            raise InvalidMarkerError(
                "--marker %r is malformed: give the marker the previous "
                "page printed (CELL_UUID:ID) or the UUID of the last "
                "instance it listed" % marker)
        if cell_uuid not in listed:
            raise InvalidMarkerError(
                "--marker %r names cell %s, which this listing does not "
                "walk: resume with the same --cell-uuid as the page that "
                "printed it" % (marker, cell_uuid))
        return listed.index(cell_uuid), int(position)
    instance_uuid = _canonical_uuid(text)
    if instance_uuid is None:
        raise InvalidMarkerError(
            "--marker %r is neither an instance UUID nor a marker printed "
            "by a previous page (CELL_UUID:ID)" % marker)
    for index, cell in enumerate(cells):
        found = _instance_id_in_cell(ctxt, cell, instance_uuid)
        if found is not None:
            return index, found
    raise InvalidMarkerError(
        "--marker %s: no such instance in the cell(s) listed; give the "
        "UUID of the last instance a page listed, or the marker it "
        "printed" % text)


def _read(ctxt: Any, cell: Any, query: Any) -> list[Any]:
    """The rows of ``query`` in ``cell``, in a reader session of its own."""
    from nova import context as nova_context
    from nova.db.main import api as db_api

    with nova_context.target_cell(ctxt, cell) as cctxt, \
            db_api.get_context_manager(cctxt).reader.using(cctxt) \
            as session:
        rows: list[Any] = session.execute(query).all()
        return rows


def _walk(ctxt: Any, cells: list[Any], query: Any,
          start: tuple[int, int | None],
          batch_size: Callable[[], int | None],
          ) -> Iterator[tuple[str, Any]]:
    """(cell UUID, row) of ``query`` in every cell from ``start`` on: the
    cells in order, each in ``instances.id`` order.

    Keyset paging on each cell's primary key: a batch resumes with
    ``id > last id``, a range of the primary key, so walking a cell in
    batches costs about one scan of it, and a page resumes where the
    previous one stopped without re-reading anything. (Walking the UUID
    index instead cost 1.3x to 1.8x a scan on 100,000 instances: rows
    read in random order.) ``query`` selects ``Instance.id``;
    ``batch_size()`` is asked before each batch (None: all rows).
    """
    from nova.db.main import models

    first, after = start
    for index in range(first, len(cells)):
        cell = cells[index]
        # Read once: each read of an object field goes through
        # oslo.versionedobjects, a cost per row on 100,000 rows.
        cell_uuid = cell.uuid
        last = after if index == first else None
        while True:
            size = batch_size()
            page = query.order_by(models.Instance.id)
            if last is not None:
                page = page.where(models.Instance.id > last)
            if size:
                page = page.limit(size)
            rows = _read(ctxt, cell, page)
            for row in rows:
                yield cell_uuid, row
            if not size or len(rows) < size:
                break
            last = rows[-1].id


def _page(walk: Iterable[tuple[str, Any]], limit: int | None,
          make: Callable[[str, Any], _Item | None],
          page: Page[_Item]) -> Page[_Item]:
    """``page`` filled with up to ``limit`` items ``make(cell_uuid, row)`` of
    ``walk`` (None when a row is left out), and the marker of the next
    page when more are left."""
    last: tuple[str, int] | None = None
    for cell_uuid, row in walk:
        item = make(cell_uuid, row)
        if item is None:
            continue
        if limit and len(page) == limit:
            # The page is full, so an item (and its row) came before.
            assert last is not None
            page.next_marker = encode_marker(*last)
            break
        page.append(item)
        last = (cell_uuid, row.id)
    return page


def _live(instance: Any) -> Any:
    """``deleted = 0``, written so that every query walks the primary key.

    Given ``deleted = 0`` SQLite picks the (deleted, created_at) index and
    sorts the whole cell for every page, so 10 pages cost about 5 to 28
    listings (measured on 50,000 instances); ``deleted + 0 = 0`` is served
    by no index, leaving the primary key for ``id > marker ORDER BY id
    LIMIT n``: each page reads only its own rows, and one listing reads
    the table in order with nothing to sort.
    """
    return (instance.deleted + 0) == 0


def _unset_query() -> Any:
    """Unrecorded, live, non-building instances on libvirt nodes or none."""
    import sqlalchemy as sa
    from nova.db.main import models

    instance = models.Instance
    metadata = models.InstanceSystemMetadata
    # A correlated NOT EXISTS probes the system_metadata instance_uuid
    # index for the rows a page walks; "uuid NOT IN (all recorded)" made
    # the database build the whole recorded set again for every page, so
    # N pages cost about N listings.
    recorded = sa.exists().where(
        metadata.instance_uuid == instance.uuid,
        metadata.key == RECORDED_KEY,
        metadata.deleted == 0,
        metadata.value.is_not(None),
    )
    other_hypervisors = sa.select(
        models.ComputeNode.hypervisor_hostname
    ).where(
        models.ComputeNode.deleted == 0,
        models.ComputeNode.hypervisor_type != LIBVIRT_HYPERVISOR_TYPE,
    )
    return sa.select(
        instance.id, instance.uuid, instance.vm_state, instance.host,
        instance.node,
    ).where(
        _live(instance),
        instance.vm_state != "building",
        ~recorded,
        # Instances on other hypervisors have no machine type at all;
        # shelved-offloaded ones (no node) may be libvirt's and count.
        sa.or_(instance.node.is_(None),
               instance.node.not_in(other_hypervisors)),
    )


def list_unset(ctxt: Any, *, cell_uuid: str | None = None,
               limit: int | None = None,
               marker: str | None = None) -> Page[UnsetInstance]:
    """Instances with no recorded machine type, cell by cell.

    The cells (cell0 left out) in the order of their UUIDs, each cell's
    instances in the order they were created (``instances.id``).
    ``cell_uuid`` restricts the search to one cell. ``limit`` cuts the
    listing into pages; the returned :class:`Page` (a list of
    :class:`UnsetInstance`) carries ``next_marker`` when more are left,
    which ``marker`` takes to resume right there (a keyset per cell:
    N pages cost about one listing). ``marker`` also takes the UUID of
    the last instance a page listed. Only non-building, non-deleted
    instances on libvirt compute nodes (or on none) are listed. Raises
    ``UnknownCellError``, and ``InvalidMarkerError`` for a marker that is
    malformed or names no instance of the cells listed.
    """
    cells = _cells(ctxt, cell_uuid)
    start = _start(ctxt, cells, marker)
    page: Page[UnsetInstance] = Page()
    # One row more than the page holds tells whether another page follows.
    walk = _walk(ctxt, cells, _unset_query(), start,
                 lambda: limit + 1 - len(page) if limit else None)
    return _page(walk, limit, lambda cell_uuid, row: UnsetInstance(
        row.uuid, cell_uuid, row.vm_state, row.host, row.node), page)


def _recorded_query(prefix: str) -> Any:
    """Live instances with a recorded or pinned machine type, with both
    and the recorded ``hw_architecture``.

    ``prefix`` (may be "") narrows to types starting with it.
    """
    import sqlalchemy as sa
    from nova.db.main import models
    from sqlalchemy import orm

    instance = models.Instance
    recorded = orm.aliased(models.InstanceSystemMetadata)
    pinned = orm.aliased(models.InstanceSystemMetadata)
    metadata = models.InstanceSystemMetadata
    # Read only for the rows selected: one index probe each.
    arch = sa.select(metadata.value).where(
        metadata.instance_uuid == instance.uuid,
        metadata.key == ARCH_KEY, metadata.deleted == 0,
    ).limit(1).scalar_subquery()
    query = sa.select(
        instance.id, instance.uuid, instance.vm_state, instance.host,
        recorded.value.label("recorded"), pinned.value.label("pinned"),
        arch.label("arch"),
    ).select_from(instance).outerjoin(recorded, sa.and_(
        recorded.instance_uuid == instance.uuid,
        recorded.key == RECORDED_KEY, recorded.deleted == 0,
    )).outerjoin(pinned, sa.and_(
        pinned.instance_uuid == instance.uuid,
        pinned.key == PINNED_KEY, pinned.deleted == 0,
    )).where(
        _live(instance),
        sa.or_(recorded.value.is_not(None), pinned.value.is_not(None)),
    )
    if prefix:
        query = query.where(sa.or_(
            recorded.value.startswith(prefix, autoescape=True),
            pinned.value.startswith(prefix, autoescape=True)))
    return query


# Rows read per batch when Python filters what SQL selected: enough that
# a pattern SQL cannot narrow still costs few queries.
_MIN_FILTERED_BATCH = 256


def transition_candidates(ctxt: Any, pattern: plans_module.Pattern, *,
                          cell_uuid: str | None = None,
                          limit: int | None = None,
                          marker: str | None = None,
                          ) -> Page[plans_module.Candidate]:
    """Instances ``pattern`` selects, after ``marker``, as
    :func:`list_unset` walks them (cells by UUID, instances by creation).

    ``pattern`` is a :class:`transition.Pattern`; returns a :class:`Page`
    of :class:`transition.Candidate` objects, at most ``limit``, whose
    ``next_marker`` resumes after the last one when more are left.
    Building instances are left out (nothing is recorded for them yet);
    cell0 is never searched. Raises ``UnknownCellError`` and
    ``InvalidMarkerError``.
    """
    from nova.db.main import models

    from nova_hwabi.machine_type import transition

    cells = _cells(ctxt, cell_uuid)
    start = _start(ctxt, cells, marker)
    query = _recorded_query(pattern.prefix).where(
        models.Instance.vm_state != "building")
    page: Page[transition.Candidate] = Page()

    def make(cell_uuid: str, row: Any) -> transition.Candidate | None:
        candidate = transition.Candidate(
            row.uuid, cell_uuid, row.vm_state, row.host, row.recorded,
            row.pinned, row.arch)
        return candidate if candidate.selected_by(pattern) else None

    # Non-matching rows are skipped in Python: read at least a batch.
    walk = _walk(ctxt, cells, query, start, lambda: max(
        _MIN_FILTERED_BATCH, limit + 1 - len(page)) if limit else None)
    return _page(walk, limit, make, page)


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
            devices.check_image_property_name(name)
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




def _pinned_in_cell(ctxt: Any, cell: Any) -> list[tuple[str, str | None, str]]:
    """(uuid, arch, versioned machine type) of each live instance in a
    cell."""
    import sqlalchemy as sa
    from nova import context as nova_context
    from nova.db.main import api as db_api
    from nova.db.main import models

    metadata = models.InstanceSystemMetadata
    query = sa.select(metadata.instance_uuid, metadata.key,
                      metadata.value).where(
        metadata.deleted == 0,
        metadata.key.in_((PINNED_KEY, RECORDED_KEY, ARCH_KEY)),
        metadata.instance_uuid.in_(
            sa.select(models.Instance.uuid).where(
                models.Instance.deleted == 0)
        ),
    )
    with nova_context.target_cell(ctxt, cell) as cctxt, \
            db_api.get_context_manager(cctxt).reader.using(cctxt) as session:
        rows = session.execute(query).all()
    by_instance: dict[str, dict[str, str]] = {}
    for row in rows:
        by_instance.setdefault(row.instance_uuid, {})[row.key] = row.value
    pinned: list[tuple[str, str | None, str]] = []
    for uuid, values in by_instance.items():
        machine_type = values.get(PINNED_KEY) or values.get(RECORDED_KEY)
        if not machine_type:
            continue
        try:
            if names.parse_machine_type(machine_type).is_alias:
                continue  # every host of the family offers an alias
        except names.UnsupportedMachineType:
            continue
        pinned.append((uuid, values.get(ARCH_KEY), machine_type))
    return pinned


def pinned_instances(ctxt: Any) -> dict[tuple[str | None, str], list[str]]:
    """The live instances (sorted UUIDs) that need each (arch, versioned
    machine type); arch is None when the image named none."""
    found: dict[tuple[str | None, str], list[str]] = {}
    for cell in _cells(ctxt, None):
        for uuid, arch, machine_type in _pinned_in_cell(ctxt, cell):
            found.setdefault((arch, machine_type), []).append(uuid)
    return {key: sorted(uuids) for key, uuids in found.items()}


def pinned_machine_types(ctxt: Any) -> dict[tuple[str | None, str], int]:
    """How many live instances need each (arch, versioned machine type)."""
    return {key: len(uuids)
            for key, uuids in pinned_instances(ctxt).items()}


DEVICE_KEYS = tuple(IMAGE_PREFIX + name for name in (
    "hw_cdrom_bus", "hw_disk_bus", "hw_video_model", "hw_vif_model"))


def recorded_devices(ctxt: Any) -> dict[str, dict[str, str]]:
    """{uuid: {image_<property>: value}} of the device buses and models
    Nova has traits for, for every live, non-building instance of every
    cell (cell0 left out)."""
    import sqlalchemy as sa
    from nova import context as nova_context
    from nova.db.main import api as db_api
    from nova.db.main import models

    metadata = models.InstanceSystemMetadata
    instance = models.Instance
    query = sa.select(metadata.instance_uuid, metadata.key,
                      metadata.value).join(
        instance, instance.uuid == metadata.instance_uuid,
    ).where(
        metadata.deleted == 0, metadata.key.in_(DEVICE_KEYS),
        instance.deleted == 0, instance.vm_state != "building",
    )
    found: dict[str, dict[str, str]] = {}
    for cell in _cells(ctxt, None):
        with nova_context.target_cell(ctxt, cell) as cctxt, \
                db_api.get_context_manager(cctxt).reader.using(cctxt) \
                as session:
            for row in session.execute(query):
                found.setdefault(row.instance_uuid, {})[row.key] = row.value
    return found


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
    from nova import context as nova_context
    from nova.db.main import api as db_api
    from nova.db.main import models

    _, exception, objects = _nova()
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
    with nova_context.target_cell(ctxt, mapping.cell_mapping) as cctxt, \
            db_api.get_context_manager(cctxt).reader.using(cctxt) as session:
        rows = session.execute(query).all()
    if not rows:
        return None
    return SchedulingState(
        task_state=rows[0].task_state,
        system_metadata={row.key: row.value for row in rows
                         if row.key is not None})


@dataclass(frozen=True)
class TransitionResult:
    """One run of :func:`transition`: a row per instance, and where the
    next run starts (None when every selected instance was seen)."""

    rows: list[plans_module.Row]
    next_marker: str | None


def transition(ctxt: Any, pattern: plans_module.Pattern,
               target: names.MachineType, *, cell_uuid: str | None = None,
               limit: int | None = None, marker: str | None = None,
               dry_run: bool = False, default_arch: str = "x86_64",
               offered_for: OfferedFor | None = None) -> TransitionResult:
    """Move the instances ``pattern`` selects to machine type ``target``.

    ``pattern`` is a :class:`transition.Pattern`, ``target`` a parsed
    :class:`names.MachineType`. Each selected instance gets a
    :class:`transition.Row`: ``unchanged`` when already there (re-runs
    write nothing), ``refused`` by the update rules, ``needs-stop`` when
    not stopped or shelved, else written exactly as ``machine-type
    update`` writes (system metadata, pin and RequestSpec image, through
    :func:`update_machine_type`) and ``updated``, or ``would-update`` with
    ``dry_run``. ``target`` must also suit each instance's architecture
    (its ``hw_architecture``, else ``default_arch``) as ``update`` checks
    it, with ``offered_for`` (see :func:`update_machine_type`); a row is
    ``refused`` with the reason otherwise. A failure on one instance is
    its row (``failed``), never the end of the run. At most ``limit``
    instances per run; the next run resumes after ``next_marker``. Raises
    ``UnknownCellError`` and ``InvalidMarkerError``.
    """
    candidates = transition_candidates(ctxt, pattern, cell_uuid=cell_uuid,
                                       limit=limit, marker=marker)
    check_arch = _arch_check(target.name, default_arch, offered_for)
    rows = [_transition_one(ctxt, candidate, target, dry_run,
                            check_arch, default_arch, offered_for)
            for candidate in candidates]
    return TransitionResult(rows, candidates.next_marker)


def _arch_check(machine_type: str, default_arch: str,
                offered_for: OfferedFor | None,
                ) -> Callable[[str | None], None]:
    """``check(arch)``: raises ``MachineTypeArchError`` when ``arch``
    (None: ``default_arch``) cannot run ``machine_type``; decided once per
    architecture."""
    verdicts: dict[str, str | None] = {}

    def check(arch: str | None) -> None:
        arch = arch or default_arch
        if arch not in verdicts:
            offered = offered_for(arch, machine_type) if offered_for \
                else None
            try:
                arches.check_machine_type_arch(machine_type, arch, offered)
                verdicts[arch] = None
            except arches.MachineTypeArchError as exc:
                verdicts[arch] = str(exc)
        if verdicts[arch]:
            raise arches.MachineTypeArchError(verdicts[arch])
    return check


def _transition_one(ctxt: Any, candidate: plans_module.Candidate,
                    target: names.MachineType, dry_run: bool,
                    check_arch: Callable[[str | None], None],
                    default_arch: str,
                    offered_for: OfferedFor | None) -> plans_module.Row:
    from nova_hwabi.machine_type import transition as plans

    row = plans.plan(candidate, target, dry_run, check_arch)
    if row.outcome != plans.WOULD_UPDATE or dry_run:
        return row
    try:
        previous, _ = update_machine_type(
            ctxt, candidate.uuid, target.name, default_arch=default_arch,
            offered_for=offered_for)
    except InvalidStateError as exc:
        # Started (or otherwise changed) since it was listed.
        return plans.with_outcome(row, plans.NEEDS_STOP, str(exc))
    except names.MachineTypeError as exc:
        return plans.with_outcome(row, plans.REFUSED, str(exc))
    except Exception as exc:
        LOG.warning("Transition of instance %s to %s failed: %s",
                    candidate.uuid, target.name, exc, exc_info=True)
        first_line = (str(exc).strip().splitlines() or [""])[0][:200]
        return plans.with_outcome(row, plans.FAILED, "%s: %s" % (
            type(exc).__name__, first_line))
    return plans.with_outcome(row, plans.UPDATED, "%s -> %s" % (
        candidate.current or previous, target.name))
