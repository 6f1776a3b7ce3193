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
from dataclasses import dataclass
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
_NOT_SEEN = object()


@dataclass(frozen=True, slots=True)
class MemoPath:
    """Where a prepared request keeps its answers per host value.

    The request's answer for a host depends only on the host's
    ``attribute``; ``memo`` maps the number ``keys`` gives its value (see
    :class:`nova_hwabi.filters.host_data.IdentityKeys`) to the reject
    reason (None: passes). ``reject_reason`` fills it as values are first
    seen.
    """

    attribute: str
    memo: dict
    keys: Any


class PrefilteredHostFilter(filters.BaseHostFilter):
    """A BaseHostFilter that parses the request once and explains rejects."""

    def prepare(self, spec_obj: Any) -> Any:
        """Parse ``spec_obj`` once; the result is passed to reject_reason."""
        raise NotImplementedError

    def reject_reason(self, host_state: Any, prepared: Any) -> str | None:
        """Why ``host_state`` fails ``prepared``, or None if it passes."""
        raise NotImplementedError

    def memo_path(self, prepared: Any) -> MemoPath | None:
        """A :class:`MemoPath` when ``prepared``'s answer per host depends
        on one host attribute only, else None (every host is checked with
        :meth:`reject_reason`)."""
        return None

    def passes_every_host(self, prepared: Any) -> bool:
        """True when ``prepared`` checks nothing (every host passes)."""
        return False

    def host_passes(self, host_state, spec_obj) -> bool:
        """Nova's per-host entry point (used by direct callers and tests)."""
        reason = self.reject_reason(host_state, self.prepare(spec_obj))
        if reason is not None:
            LOG.debug("%s: %s fails: %s", self.__class__.__name__,
                      host_state, reason)
        return reason is None

    def filter_all(self, filter_obj_list: Iterable[Any],
                   spec_obj: Any) -> Iterator[Any]:
        """Prepare once, then keep the hosts with no reject reason.

        Returns an iterator over the passing hosts, as Nova's
        ``BaseFilter.filter_all`` does; the hosts are all checked, and the
        request summarised in the log, before it is returned.
        """
        prepared = self.prepare(spec_obj)
        name = self.__class__.__name__
        if self.passes_every_host(prepared):
            passed = list(filter_obj_list)
            _summarise(name, spec_obj, len(passed), 0, [])
            return iter(passed)
        path = self.memo_path(prepared)
        passed, rejected, examples = self._check(filter_obj_list, prepared,
                                                 path, name)
        _summarise(name, spec_obj, len(passed) + rejected, rejected,
                   examples)
        return iter(passed)

    def _check(self, hosts, prepared, path: MemoPath | None, name: str):
        """(passing hosts, number rejected, the first (host, reason)s)."""
        # The hot loop: a host whose value was seen in this request costs
        # two dict lookups that never read the value, no Python call and
        # no allocation (allocations wake the garbage collector, which then
        # walks every HostState).
        reject_reason = self.reject_reason
        attribute = path.attribute if path is not None else None
        memo_get = path.memo.get if path is not None else None
        lookup = path.keys.lookup if path is not None else None
        debug = LOG.isEnabledFor(std_logging.DEBUG)
        not_seen, most_examples = _NOT_SEEN, _EXAMPLES  # locals: faster
        passed: list[Any] = []
        examples: list[tuple[Any, str]] = []
        rejected = 0
        for host_state in hosts:
            reason = not_seen
            if attribute is not None:
                value = getattr(host_state, attribute, None)
                entry = lookup(id(value))
                if entry is not None and entry[0] is value:
                    reason = memo_get(entry[1], not_seen)
            if reason is not_seen:
                reason = reject_reason(host_state, prepared)
            if reason is None:
                passed.append(host_state)
                continue
            rejected += 1
            if rejected <= most_examples:
                examples.append((host_state, reason))
            if debug:
                LOG.debug("%s: %s fails: %s", name, host_state, reason)
        return passed, rejected, examples


def _summarise(name: str, spec_obj: Any, total: int, rejected: int,
               examples: list[tuple[Any, str]]) -> None:
    instance = getattr(spec_obj, "instance_uuid", None)
    if not rejected:
        LOG.debug("%s: all %d hosts pass for instance %s", name, total,
                  instance)
        return
    # Every host rejected ends in NoValidHost: worth an INFO line.
    level = std_logging.INFO if rejected == total else std_logging.DEBUG
    LOG.log(level, "%s rejected %d of %d hosts for instance %s (%s%s)",
            name, rejected, total, instance,
            "; ".join("%s: %s" % example for example in examples),
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
