"""Starting a nova-hwabi admin command the way Nova starts nova-manage."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable

from nova_hwabi import compat


def nova_conf():
    """Nova's global CONF, after Nova has chosen native threading.

    Nova picks eventlet or threads when its first modules load and refuses
    to run if eventlet was imported before, so this must come before any
    other Nova import (import_module keeps import sorting from moving it).
    Nova's notice about the choice and eventlet's deprecation warning are
    muted: an admin command prints only its answer.
    """
    compat.use_native_threading()
    with compat.quiet_nova_startup():
        return importlib.import_module("nova.conf").CONF


def start(prog: str, argv: list[str] | None,
          register_cli: Callable[[object], None]):
    """Parse ``nova.conf`` and the command line as nova-manage does.

    ``register_cli(conf)`` adds the command's sub-commands. Logs go to
    stderr so stdout carries only results (possibly JSON). Returns Nova's
    CONF, with nova-hwabi's options registered and the databases set up.
    """
    conf = nova_conf()
    from nova import objects
    from oslo_log import log as logging

    from nova_hwabi import conf as hwabi_conf

    hwabi_conf.register_opts(conf)
    register_cli(conf)
    logging.register_options(conf)
    conf.set_default("use_stderr", True)
    compat.parse_nova_args(
        [prog, *(sys.argv[1:] if argv is None else argv)], prog)
    logging.setup(conf, "nova-hwabi")
    objects.register_all()
    return conf
