"""Nova's databases for a small deployment: API, cell0 and cells, on sqlite.

The demo's second act, the functional tests of the admin commands and the
benchmarks of listing and compute start-up use real Nova databases,
created as a deployment creates them with ``nova-manage api_db sync``,
``cell_v2 map_cell0``, ``cell_v2 create_cell`` and ``db sync``: the same
Nova calls those commands make (``nova.db.migration.db_sync``,
``CellMapping.create``), in-process, so that Nova's start-up (seconds per
``nova-manage`` subprocess) is paid once.
``nova.cmd.manage`` itself is not imported: it applies eventlet's monkey
patching on import, which a process already running in Nova's native
threading mode refuses. Run it in a process whose Nova configuration was
parsed from :attr:`NovaDatabases.conf` (see :func:`setup_nova`)::

    databases = NovaDatabases(Path(workdir), cells=("cell1", "cell2"))
    ctxt = setup_nova(databases.conf)
    databases.create()            # {"cell0": uuid, "cell1": uuid, ...}

The first cell is ``[database] connection`` in the written ``nova.conf``.
Seeding instances is the caller's: Nova's objects (``Instance``,
``InstanceMapping``, ``ComputeNode``) in ``context.target_cell``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

# Commands run side by side on these files (the admin commands' tests run
# a batch concurrently): wait for another writer's lock up to 30 s instead
# of sqlite's 5 s, past which a busy machine fails with "database is
# locked".
SQLITE_OPTIONS = "?timeout=30"

_P = ParamSpec("_P")
_T = TypeVar("_T")


class DatabaseSetupError(Exception):
    """A nova-manage step failed; the message names it and says why."""


def write_conf(path: Path, api: Path, database: Path,
               extra: str = "") -> Path:
    """A ``nova.conf`` with sqlite API and cell databases and the fake
    transport (no message queue), plus ``extra`` lines."""
    path.write_text(
        "[DEFAULT]\ntransport_url = fake:/\n"
        "[api_database]\nconnection = sqlite:///%s%s\n"
        "[database]\nconnection = sqlite:///%s%s\n%s" % (
            api, SQLITE_OPTIONS, database, SQLITE_OPTIONS, extra)
    )
    return path


def setup_nova(conf: Path, prog: str = "nova-hwabi") -> Any:
    """Set Nova up as nova-manage does: native threading, parse ``conf``,
    register Nova's objects; the admin context.

    Nova picks its concurrency backend when its first module loads, so
    call this before any other Nova module is imported in the process.
    """
    from nova_hwabi import compat

    compat.use_native_threading()
    from nova import config, context, objects

    config.parse_args([prog, "--config-file", str(conf)])
    objects.register_all()
    return context.get_admin_context()


class NovaDatabases:
    """The sqlite files of an API database, cell0 and ``cells`` under
    ``root``, the ``nova.conf`` naming them, and a snapshot to restore."""

    def __init__(self, root: Path, cells: tuple[str, ...] = ("cell1",)):
        if not cells:
            raise ValueError("at least one cell besides cell0 is needed")
        self.root = Path(root)
        self.cell_names = tuple(cells)
        names = ("api", "cell0", *self.cell_names)
        self.db = {name: self.root / ("%s.db" % name) for name in names}
        self.conf = write_conf(self.root / "nova.conf", self.db["api"],
                               self.db[self.cell_names[0]])
        self._snapshot = self.root / "snapshot"

    def url(self, name: str) -> str:
        """The sqlalchemy URL of database ``name`` (``api``, ``cell0``...).
        """
        return "sqlite:///%s%s" % (self.db[name], SQLITE_OPTIONS)

    def create(self) -> dict[str, str]:
        """Create and map every database; {cell name: cell uuid}.

        Needs :func:`setup_nova` (with :attr:`conf`) first. Raises
        :class:`DatabaseSetupError` naming the nova-manage step that failed.
        """
        from nova import context, objects
        from nova.db import migration

        ctxt = context.get_admin_context()
        self._step("api_db sync", migration.db_sync, database="api")
        mappings = [self._step(
            "cell_v2 map_cell0", self._map, ctxt, "cell0",
            objects.CellMapping.CELL0_UUID, "none:///")]
        for index, name in enumerate(self.cell_names):
            # nova-manage refuses two cells sharing a transport URL.
            transport = "fake:/" if index == 0 else "fake://%s/" % name
            mappings.append(self._step(
                "cell_v2 create_cell --name %s" % name, self._map, ctxt,
                name, None, transport))
        for mapping in mappings:
            # db sync: [database] connection and cell0; --local_cell with
            # each other cell's connection for the others.
            with context.target_cell(ctxt, mapping) as cctxt:
                self._step("db sync (%s)" % mapping.name, migration.db_sync,
                           context=cctxt)
        return {mapping.name: mapping.uuid for mapping in mappings}

    def _map(self, ctxt: Any, name: str, uuid: str | None,
             transport_url: str) -> Any:
        from nova import objects
        from oslo_utils import uuidutils

        mapping = objects.CellMapping(
            ctxt, uuid=uuid or uuidutils.generate_uuid(), name=name,
            transport_url=transport_url,
            database_connection=self.url(name))
        mapping.create()
        return mapping

    @staticmethod
    def _step(title: str, function: Callable[_P, _T], *args: _P.args,
              **kwargs: _P.kwargs) -> _T:
        try:
            return function(*args, **kwargs)
        except Exception as exc:
            raise DatabaseSetupError("nova-manage %s failed: %s: %s" % (
                title, type(exc).__name__, exc)) from exc

    def snapshot(self) -> None:
        """Keep a copy of every database file, for :meth:`restore`."""
        self._snapshot.mkdir(exist_ok=True)
        for path in self.db.values():
            shutil.copy2(path, self._snapshot / path.name)

    def restore(self) -> None:
        """Put back the databases as :meth:`snapshot` saw them."""
        for path in self.db.values():
            shutil.copy2(self._snapshot / path.name, path)
