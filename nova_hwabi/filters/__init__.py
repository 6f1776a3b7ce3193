"""Scheduler host filters, discovered through stevedore.

Operators add, after Nova's own::

    [filter_scheduler]
    available_filters = nova.scheduler.filters.all_filters
    available_filters = nova_hwabi.filters.all_filters

Our ``ComputeCapabilitiesFilter`` and ``ImagePropertiesFilter`` have the
same names as Nova's and, listed later, replace them.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint
from typing import Any

from oslo_log import log as logging
from stevedore import extension

LOG = logging.getLogger(__name__)

NAMESPACE = "nova_hwabi.scheduler.filters"


def _log_load_failure(_manager: extension.ExtensionManager[Any],
                      entrypoint: EntryPoint, exc: BaseException) -> None:
    LOG.error("Cannot load nova-hwabi scheduler filter %s (%s, entry point "
              "group %s): %s; the scheduler goes on without it",
              entrypoint.name, entrypoint.value, NAMESPACE, exc)


def all_filters() -> list[type]:
    """The filter classes registered in ``NAMESPACE``, in name order.

    A class that fails to load is logged and left out, so one broken
    plugin does not stop the scheduler from starting.
    """
    manager = extension.ExtensionManager(
        NAMESPACE,
        invoke_on_load=False,
        on_load_failure_callback=_log_load_failure,
    )
    return [ext.plugin for ext in sorted(manager, key=lambda e: e.name)]
