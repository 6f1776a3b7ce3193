"""Starting a nova-hwabi admin command the way Nova starts nova-manage.

Also where every admin command checks its configuration before doing any
work: an unreadable config file, an option with a wrong value, or a missing
or unusable ``[api_database] connection`` ends the command with one line
on stderr naming the option and the file, and ``EXIT_CONFIG``.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from oslo_config import cfg

from nova_hwabi import compat
from nova_hwabi.conf import sources

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

# Exit code of every admin command for a configuration it cannot use:
# sysexits.h's EX_CONFIG, outside both nova-manage's per-command codes
# and oslo.upgradecheck's (0-2 results, 255 a check that crashed).
EXIT_CONFIG = 78

# Option groups whose values a command reads: ours and Nova's we mirror.
CHECKED_GROUPS = ["hwabi_capabilities", "hwabi_scheduler", "libvirt"]

_API_DATABASE = "[api_database] connection"
# A table every Nova API database has (nova-manage api_db sync).
_API_TABLE = "cell_mappings"


class ConfigError(Exception):
    """The configuration cannot be used; the message is one line."""


def import_nova_conf() -> cfg.ConfigOpts:
    """Nova's global CONF, after Nova has chosen native threading.

    Nova picks eventlet or threads when its first modules load and refuses
    to run if eventlet was imported before, so this must come before any
    other Nova import (import_module keeps import sorting from moving it).
    Nova's notice about the choice and eventlet's deprecation warning are
    muted: an admin command prints only its answer. Some series read
    the ``--config-file`` files already here (see compat): a missing or
    malformed one raises ConfigError.
    """
    irregular = sources.irregular_config_file(sys.argv[1:])
    if irregular:
        raise ConfigError(irregular)
    try:
        compat.use_native_threading()
    except cfg.Error as exc:
        raise ConfigError(sources.file_error(exc)) from None
    except sources.UNREADABLE_FILE_ERRORS as exc:
        raise ConfigError(
            sources.unreadable_file_error(sys.argv[1:], exc)) from None
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("nova."):
            raise
        # The nova/virt/hwabi shim alone makes 'nova' importable.
        raise ConfigError(
            "Nova is not installed in this Python environment (%s): install "
            "nova-hwabi into Nova's own environment, with the constraints "
            "file of its series (see the README)" % sys.executable) from None
    with compat.quiet_nova_startup():
        conf: cfg.ConfigOpts = importlib.import_module("nova.conf").CONF
        return conf


def start(prog: str, argv: list[str] | None,
          register_cli: Callable[[cfg.ConfigOpts], None], *,
          api_database: bool = True) -> cfg.ConfigOpts:
    """Parse ``nova.conf`` and the command line as nova-manage does.

    ``register_cli(conf)`` adds the command's sub-commands. Logs go to
    stderr so stdout carries only results (possibly JSON). Returns Nova's
    CONF, with nova-hwabi's options registered, checked (see
    ``check_config``) and the databases set up. Raises ConfigError.
    """
    args = sys.argv[1:] if argv is None else argv
    irregular = sources.irregular_config_file(args)
    if irregular:
        raise ConfigError(irregular)
    conf = import_nova_conf()
    from nova import objects
    from oslo_log import log as logging

    from nova_hwabi import conf as hwabi_conf

    hwabi_conf.register_opts(conf)
    register_cli(conf)
    logging.register_options(conf)
    conf.set_default("use_stderr", True)
    try:
        compat.parse_nova_args([prog, *args], prog)
    except cfg.Error as exc:
        raise ConfigError(sources.file_error(exc)) from None
    except sources.UNREADABLE_FILE_ERRORS as exc:
        # A directory, an empty name, a binary file: oslo.config raises
        # these unwrapped.
        raise ConfigError(sources.unreadable_file_error(args, exc)) from None
    check_config(conf, prog, api_database=api_database)
    logging.setup(conf, "nova-hwabi")
    objects.register_all()
    return conf


def run(prog: str, argv: list[str] | None,
        register_cli: Callable[[cfg.ConfigOpts], None],
        command: Callable[[cfg.ConfigOpts], int], *,
        api_database: bool = True) -> int:
    """``command(conf)`` after :func:`start`; EXIT_CONFIG on ConfigError."""
    try:
        conf = start(prog, argv, register_cli, api_database=api_database)
    except ConfigError as exc:
        print("%s: error: %s" % (prog, exc), file=sys.stderr)
        return EXIT_CONFIG
    return command(conf)


def check_config(conf: cfg.ConfigOpts, prog: str, *,
                 api_database: bool = True) -> None:
    """Raise ConfigError unless the options ``prog`` reads are usable.

    Every option of ``CHECKED_GROUPS`` must have a valid value and, with
    ``api_database``, ``[api_database] connection`` must name a reachable
    database holding Nova's API tables.
    """
    try:
        sources.validate(conf, CHECKED_GROUPS)
    except sources.InvalidOptionError as exc:
        raise ConfigError(str(exc)) from None
    if api_database:
        check_api_database(conf, prog)


def check_api_database(conf: cfg.ConfigOpts, prog: str) -> None:
    """Raise ConfigError unless ``[api_database] connection`` is usable.

    Usable: set, a SQLAlchemy URL whose dialect and driver are installed,
    an existing file for sqlite, a database that accepts a connection and
    has Nova's API tables. One connection, no retries; the password is
    never printed.
    """
    import sqlalchemy
    from sqlalchemy import exc as sa_exc
    from sqlalchemy import pool

    text = conf.api_database.connection
    if not text:
        raise ConfigError("%s is not set %s: %s reads Nova's databases" % (
            _API_DATABASE, sources.where(conf), prog))
    origin = sources.origin(conf, "api_database", "connection")
    try:
        url = sqlalchemy.engine.make_url(text)
    except sa_exc.ArgumentError:
        raise ConfigError(
            "%s %s is not a database URL (e.g. "
            "mysql+pymysql://nova:PASSWORD@HOST/nova_api)"
            % (_API_DATABASE, origin)) from None
    shown = url.render_as_string(hide_password=True)
    _check_driver(url, shown, origin)
    if url.get_backend_name() == "sqlite" and url.database not in (
            None, "", ":memory:") and not os.path.exists(url.database):
        raise ConfigError(
            "%s %s names the sqlite file %s, which does not exist: point it "
            "at Nova's API database" % (_API_DATABASE, origin, url.database))
    engine = sqlalchemy.create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            has_tables = sqlalchemy.inspect(connection).has_table(_API_TABLE)
    except sa_exc.DBAPIError as exc:
        reason = (str(exc.orig).strip().splitlines() or [""])[0]
        raise ConfigError(
            "cannot connect to %s = %s %s: %s; check the URL, the server and "
            "the credentials" % (_API_DATABASE, shown, origin, reason)
        ) from None
    finally:
        engine.dispose()
    if not has_tables:
        raise ConfigError(
            "%s = %s %s is not Nova's API database (no %s table): point it "
            "at the database nova-api uses (nova-manage api_db sync creates "
            "the tables)" % (_API_DATABASE, shown, origin, _API_TABLE))


def _check_driver(url: URL, shown: str, origin: str) -> None:
    from sqlalchemy import exc as sa_exc

    try:
        dialect = url.get_dialect()
    except sa_exc.NoSuchModuleError:
        raise ConfigError(
            "%s = %s %s: unknown database kind %r (e.g. mysql+pymysql, "
            "postgresql+psycopg2, sqlite)"
            % (_API_DATABASE, shown, origin, url.drivername)) from None
    try:
        dialect.import_dbapi()
    except ImportError as exc:
        raise ConfigError(
            "%s = %s %s needs the Python database driver %s, which is not "
            "installed here" % (_API_DATABASE, shown, origin,
                                exc.name or url.drivername)) from None
