"""PreFilter/Filter split for Nova host filters, with reasons.

Nova shares one filter instance between all requests and calls
``filter_all(hosts, spec_obj)`` once per filter per instance. A subclass
implements ``prepare(spec_obj)`` (once per request: parse, validate) and
``reject_reason(host_state, prepared)`` (per host: cheap, returns why the
host fails or None). Nothing per request is kept on ``self``.
"""

from __future__ import annotations

import logging as std_logging
from collections.abc import Iterable, Iterator
from typing import Any

import nova.conf
from nova.scheduler import filters
from oslo_log import log as logging

from nova_hwabi import conf as hwabi_conf

LOG = logging.getLogger(__name__)

CONF = nova.conf.CONF
# Filters run inside Nova: our groups go on Nova's CONF (idempotent; the
# [libvirt] options already there stay Nova's).
hwabi_conf.register_opts(CONF)

_EXAMPLES = 3


class PrefilteredHostFilter(filters.BaseHostFilter):
    """A BaseHostFilter that parses the request once and explains rejects."""

    def prepare(self, spec_obj: Any) -> Any:
        """Parse ``spec_obj`` once; the result is passed to reject_reason."""
        raise NotImplementedError

    def reject_reason(self, host_state: Any, prepared: Any) -> str | None:
        """Why ``host_state`` fails ``prepared``, or None if it passes."""
        raise NotImplementedError

    def host_passes(self, host_state, spec_obj) -> bool:
        """Nova's per-host entry point (used by direct callers and tests)."""
        reason = self.reject_reason(host_state, self.prepare(spec_obj))
        if reason is not None:
            LOG.debug("%s: %s fails: %s", self.__class__.__name__,
                      host_state, reason)
        return reason is None

    def filter_all(self, filter_obj_list: Iterable[Any],
                   spec_obj: Any) -> Iterator[Any]:
        """Prepare once, then keep the hosts with no reject reason."""
        prepared = self.prepare(spec_obj)
        reject_reason = self.reject_reason
        debug = LOG.isEnabledFor(std_logging.DEBUG)
        name = self.__class__.__name__
        total = rejected = 0
        examples: list[str] = []
        for host_state in filter_obj_list:
            total += 1
            reason = reject_reason(host_state, prepared)
            if reason is None:
                yield host_state
                continue
            rejected += 1
            if len(examples) < _EXAMPLES:
                examples.append("%s: %s" % (host_state, reason))
            if debug:
                LOG.debug("%s: %s fails: %s", name, host_state, reason)
        _summarise(name, spec_obj, total, rejected, examples)


def _summarise(name: str, spec_obj: Any, total: int, rejected: int,
               examples: list[str]) -> None:
    instance = getattr(spec_obj, "instance_uuid", None)
    if not rejected:
        LOG.debug("%s: all %d hosts pass for instance %s", name, total,
                  instance)
        return
    # Every host rejected ends in NoValidHost: worth an INFO line.
    level = std_logging.INFO if rejected == total else std_logging.DEBUG
    LOG.log(level, "%s rejected %d of %d hosts for instance %s (%s%s)",
            name, rejected, total, instance, "; ".join(examples),
            "; ..." if rejected > len(examples) else "")


def unknown_bits_policy() -> str:
    """``[hwabi_scheduler] unknown_host_bits``, read once per request."""
    return CONF.hwabi_scheduler.unknown_host_bits


def bits_reason(host_bits: int | None, needed: int, policy: str,
                source: str) -> str | None:
    """Why a host with ``host_bits`` cannot give ``needed`` bits, or None."""
    if host_bits is None:
        if policy == "accept":
            return None
        return ("host reports no maxphysaddr bits, %s needs %d "
                "([hwabi_scheduler] unknown_host_bits = reject)"
                % (source, needed))
    if host_bits < needed:
        return "maxphysaddr bits %d < %d asked by the %s" % (
            host_bits, needed, source,
        )
    return None
