"""Instance records across cells: listings and the fleet transition.

What walks many instances of every cell (cell0 left out) rather than
reading one: :func:`list_unset` (``machine-type list-unset``),
:func:`transition_candidates` and :func:`transition` (``machine-type
transition``), and the upgrade checks' :func:`pinned_instances`,
:func:`pinned_machine_types` and :func:`recorded_devices`. One instance's
reads and writes, which :func:`transition` writes through, are in
:mod:`nova_hwabi.machine_type.records`; the pure transition rules are in
:mod:`nova_hwabi.machine_type.transition`.

Listings page with opaque markers (:func:`encode_marker`,
``CELL_UUID:ID``) and walk each cell by its primary key (keyset paging),
so N pages cost about one listing.
"""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from oslo_log import log as logging
from oslo_utils import uuidutils

from nova_hwabi.machine_type import arches, names
from nova_hwabi.machine_type.records import (
    CellDatabaseError,
    InvalidStateError,
    OfferedFor,
    RecordError,
    nova_modules,
    read_in_cell,
    update_machine_type,
)
from nova_hwabi.machine_type.sysmeta import (
    ARCH_KEY,
    IMAGE_PREFIX,
    PINNED_KEY,
    RECORDED_KEY,
)

if TYPE_CHECKING:
    from nova_hwabi.machine_type import transition as plans_module

LOG = logging.getLogger(__name__)

_Item = TypeVar("_Item")

# Nova's libvirt driver reports this hypervisor_type for QEMU and KVM alike.
LIBVIRT_HYPERVISOR_TYPE = "QEMU"


class UnknownCellError(RecordError):
    """No cell mapping with that UUID."""


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
    _, exception, objects = nova_modules()
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

# The largest ``instances.id``: Nova's models declare it an Integer, 32
# bits signed on MySQL and PostgreSQL. Also the largest page a listing
# takes, so that no number a command passes on overflows a database's
# integer (SQLite's 64 bits raised OverflowError past 2**63 - 1).
MAX_INSTANCE_ID = 2**31 - 1


def encode_marker(cell_uuid: str, instance_id: int) -> str:
    """The marker resuming after instance ``instance_id`` of a cell."""
    return "%s%s%d" % (cell_uuid, MARKER_SEPARATOR, instance_id)


class Page(list[_Item], Generic[_Item]):
    """One page of a listing, in walk order, and where the next starts:
    ``next_marker`` (None when nothing is left). ``unreadable``: a
    :class:`CellDatabaseError` per cell whose database could not be read
    (its instances are missing from the listing; the other cells are
    listed, as nova-manage does)."""

    next_marker: str | None = None

    def __init__(self, *items: Any) -> None:
        super().__init__(*items)
        self.unreadable: list[CellDatabaseError] = []


def canonical_uuid(text: str) -> str | None:
    """``text`` as Nova stores UUIDs (lower case, dashed), or None when
    it is no UUID (oslo.utils' ``is_uuid_like``: also upper case and
    undashed forms, which Nova's queries would not find as given)."""
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
    rows = read_in_cell(ctxt, cell, query)
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
        cell_uuid = canonical_uuid(cell_text)
        instance_id = int(position) if position.isascii() \
            and position.isdigit() else None
        if not (cell_uuid and instance_id is not None
                and instance_id <= MAX_INSTANCE_ID):
            raise InvalidMarkerError(
                "--marker %r is malformed: give the marker the previous "
                "page printed (CELL_UUID:ID, ID at most %d) or the UUID of "
                "the last instance it listed" % (marker, MAX_INSTANCE_ID))
        if cell_uuid not in listed:
            raise InvalidMarkerError(
                "--marker %r names cell %s, which this listing does not "
                "walk: resume with the same --cell-uuid as the page that "
                "printed it" % (marker, cell_uuid))
        return listed.index(cell_uuid), instance_id
    instance_uuid = canonical_uuid(text)
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


def _walk(ctxt: Any, cells: list[Any], query: Any,
          start: tuple[int, int | None],
          batch_size: Callable[[], int | None],
          unreadable: list[CellDatabaseError],
          ) -> Iterator[tuple[str, Any]]:
    """(cell UUID, row) of ``query`` in every cell from ``start`` on: the
    cells in order, each in ``instances.id`` order.

    Keyset paging on each cell's primary key: a batch resumes with
    ``id > last id``, a range of the primary key, so walking a cell in
    batches costs about one scan of it, and a page resumes where the
    previous one stopped without re-reading anything. (Walking the UUID
    index instead cost 1.3x to 1.8x a scan on 100,000 instances: rows
    read in random order.) ``query`` selects ``Instance.id``;
    ``batch_size()`` is asked before each batch (None: all rows). A cell
    whose database cannot be read is appended to ``unreadable`` and the
    walk goes on with the next cell.
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
            try:
                rows = read_in_cell(ctxt, cell, page)
            except CellDatabaseError as exc:
                unreadable.append(exc)
                break
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
    instances on libvirt compute nodes (or on none) are listed. A cell
    whose database cannot be read is left out and named in the page's
    ``unreadable``. Raises ``UnknownCellError``, and
    ``InvalidMarkerError`` for a marker that is malformed or names no
    instance of the cells listed.
    """
    cells = _cells(ctxt, cell_uuid)
    start = _start(ctxt, cells, marker)
    page: Page[UnsetInstance] = Page()
    # One row more than the page holds tells whether another page follows.
    walk = _walk(ctxt, cells, _unset_query(), start,
                 lambda: limit + 1 - len(page) if limit else None,
                 page.unreadable)
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
        _MIN_FILTERED_BATCH, limit + 1 - len(page)) if limit else None,
        page.unreadable)
    return _page(walk, limit, make, page)


def _pinned_in_cell(ctxt: Any, cell: Any) -> list[tuple[str, str | None, str]]:
    """(uuid, arch, versioned machine type) of each live instance in a
    cell."""
    import sqlalchemy as sa
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
    rows = read_in_cell(ctxt, cell, query)
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
        for row in read_in_cell(ctxt, cell, query):
            found.setdefault(row.instance_uuid, {})[row.key] = row.value
    return found


@dataclass(frozen=True)
class TransitionResult:
    """One run of :func:`transition`: a row per instance, and where the
    next run starts (None when every selected instance was seen)."""

    rows: list[plans_module.Row]
    next_marker: str | None
    # A CellDatabaseError per cell that could not be read (left out).
    unreadable: list[CellDatabaseError] = field(default_factory=list)


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
    return TransitionResult(rows, candidates.next_marker,
                            candidates.unreadable)


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
