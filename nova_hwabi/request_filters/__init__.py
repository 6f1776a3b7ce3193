"""Request filters: flavor and image to required traits, before Placement.

Nova's request filters are a hard-coded list
(``nova.scheduler.request_filter.ALL_REQUEST_FILTERS``) with no plugin
point. nova-hwabi's are discovered with stevedore in the
``nova_hwabi.request_filters`` namespace; each entry point is a function
``fn(conf, ctxt, request_spec) -> bool`` that adds to
``request_spec.root_required``. They run only when a scheduler was started
through ``nova-hwabi-scheduler`` (or a process called
:func:`register_with_nova`), which appends one dispatcher to Nova's list;
``[hwabi_scheduler] request_filters`` chooses which run.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import EntryPoint
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging
from stevedore import extension

from nova_hwabi import conf as hwabi_conf

LOG = logging.getLogger(__name__)

NAMESPACE = "nova_hwabi.request_filters"

RequestFilter = Callable[[cfg.ConfigOpts, object, object], bool]


def load_request_filters() -> dict[str, RequestFilter]:
    """Request filters by name from the ``NAMESPACE`` entry points.

    One that fails to load is logged and left out.
    """
    manager = extension.ExtensionManager(
        NAMESPACE,
        invoke_on_load=False,
        on_load_failure_callback=_log_load_failure,
    )
    return {ext.name: ext.plugin for ext in manager}


def _log_load_failure(_manager: extension.ExtensionManager[Any],
                      entrypoint: EntryPoint, exc: BaseException) -> None:
    LOG.error("Cannot load nova-hwabi request filter %s (%s, entry point "
              "group %s): %s; the scheduler goes on without it",
              entrypoint.name, entrypoint.value, NAMESPACE, exc)


class RequestFilterDispatcher:
    """Runs the request filters ``[hwabi_scheduler] request_filters`` names.

    One instance sits in Nova's request-filter list. It never lets an
    exception reach the scheduler: a broken filter is logged and skipped.
    """

    def __init__(self, conf: cfg.ConfigOpts,
                 filters: dict[str, RequestFilter]) -> None:
        self._conf = conf
        self._filters = filters
        self._reported_unknown: set[str] = set()
        self.__name__ = "nova_hwabi_request_filters"

    def __call__(self, ctxt: Any, request_spec: Any) -> bool:
        ran = False
        for name in self._conf.hwabi_scheduler.request_filters:
            request_filter = self._filters.get(name)
            if request_filter is None:
                self._report_unknown(name)
                continue
            try:
                if request_filter(self._conf, ctxt, request_spec):
                    ran = True
            except Exception:
                LOG.exception("nova-hwabi request filter %s failed; the "
                              "request goes on without it", name)
        return ran

    def _report_unknown(self, name: str) -> None:
        if name not in self._reported_unknown:
            self._reported_unknown.add(name)
            LOG.error("[hwabi_scheduler] request_filters names %r, which is "
                      "not installed; known: %s", name,
                      ", ".join(sorted(self._filters)) or "none")


def register_with_nova(
    conf: cfg.ConfigOpts | None = None,
) -> RequestFilterDispatcher:
    """Append nova-hwabi's dispatcher to Nova's request filters, once.

    ``conf`` defaults to Nova's global CONF, on which our options are
    registered. Returns the dispatcher now in Nova's list.
    """
    from nova.scheduler import request_filter  # a Nova process only

    if conf is None:
        import nova.conf

        conf = nova.conf.CONF
    hwabi_conf.register_opts(conf)
    for existing in request_filter.ALL_REQUEST_FILTERS:
        if isinstance(existing, RequestFilterDispatcher):
            return existing
    dispatcher = RequestFilterDispatcher(conf, load_request_filters())
    request_filter.ALL_REQUEST_FILTERS.append(dispatcher)
    return dispatcher


def unregister_from_nova() -> None:
    """Remove nova-hwabi's dispatcher from Nova's request filters."""
    from nova.scheduler import request_filter

    request_filter.ALL_REQUEST_FILTERS[:] = [
        existing for existing in request_filter.ALL_REQUEST_FILTERS
        if not isinstance(existing, RequestFilterDispatcher)
    ]
