"""PreFilter/Filter split for Nova host filters, with reasons.

Nova shares one filter instance between all requests and calls
``filter_all(hosts, spec_obj)`` once per filter per instance. A subclass
implements ``prepare(spec_obj)`` (once per request: parse, validate) and
``reject_reason(host_state, prepared)`` (per host: cheap, returns why the
host fails or None). Nothing per request is kept on ``self``.
"""

from __future__ import annotations

import logging as std_logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import compress, islice, repeat
from operator import is_, is_not
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

import nova.conf
from nova.scheduler import filters
from oslo_log import log as logging

from nova_hwabi import conf as hwabi_conf

if TYPE_CHECKING:
    from nova_hwabi.filters.host_data import IdentityKeys

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

    The request's answer for a host depends only on one of the host's
    attributes; ``values(hosts)`` lists that attribute of every host
    (e.g. :func:`nova_hwabi.filters.host_data.cpu_info_values`), ``memo``
    maps the number ``keys`` gives a value (see
    :class:`nova_hwabi.filters.host_data.IdentityKeys`) to the reject
    reason (None: passes). ``reject_reason`` fills it as values are first
    seen.
    """

    values: Callable[[list[Any]], list[Any]]
    memo: dict[int, str | None]
    keys: IdentityKeys


# What a filter's prepare() returns and its other methods take.
_Prepared = TypeVar("_Prepared")
# (passing hosts, number rejected, the first (host, reason)s)
_Outcome = tuple[list[Any], int, list[tuple[Any, str]]]


# Nova's BaseHostFilter is untyped (Any to mypy, which strict mode will not
# let us subclass); being a Nova host filter is the point of this class.
class PrefilteredHostFilter(
        filters.BaseHostFilter,  # type: ignore[misc]
        Generic[_Prepared]):
    """A BaseHostFilter that parses the request once and explains rejects.

    Subclasses name what their :meth:`prepare` returns:
    ``class F(PrefilteredHostFilter[Prepared])``.
    """

    def prepare(self, spec_obj: Any) -> _Prepared:
        """Parse ``spec_obj`` once; the result is passed to reject_reason."""
        raise NotImplementedError

    def reject_reason(self, host_state: Any,
                      prepared: _Prepared) -> str | None:
        """Why ``host_state`` fails ``prepared``, or None if it passes."""
        raise NotImplementedError

    def memo_path(self, prepared: _Prepared) -> MemoPath | None:
        """A :class:`MemoPath` when ``prepared``'s answer per host depends
        on one host attribute only, else None (every host is checked with
        :meth:`reject_reason`)."""
        return None

    def passes_every_host(self, prepared: _Prepared) -> bool:
        """True when ``prepared`` checks nothing (every host passes)."""
        return False

    def host_passes(self, host_state: Any, spec_obj: Any) -> bool:
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

    def _check(self, hosts: Iterable[Any], prepared: _Prepared,
               path: MemoPath | None, name: str) -> _Outcome:
        """(passing hosts, number rejected, the first (host, reason)s)."""
        if path is not None:
            return self._check_memoized(hosts, prepared, path, name)
        reject_reason = self.reject_reason
        debug = LOG.isEnabledFor(std_logging.DEBUG)
        passed: list[Any] = []
        examples: list[tuple[Any, str]] = []
        rejected = 0
        for host_state in hosts:
            reason = reject_reason(host_state, prepared)
            if reason is None:
                passed.append(host_state)
                continue
            rejected += 1
            if rejected <= _EXAMPLES:
                examples.append((host_state, reason))
            if debug:
                LOG.debug("%s: %s fails: %s", name, host_state, reason)
        return passed, rejected, examples

    def _check_memoized(self, hosts: Iterable[Any], prepared: _Prepared,
                        path: MemoPath, name: str) -> _Outcome:
        """:meth:`_check` for a request whose answer for a host is
        ``path.memo``'s for the number naming the host's value.

        A few passes over the hosts, each a list comprehension or a
        C-level ``map`` / ``zip`` / ``compress`` with no Python call per
        host: read each host's value, look up the number naming it (by
        identity, never reading the value), ask :meth:`reject_reason` once
        per distinct number (one host stands for all holding that value;
        this fills ``path.memo``), then read every host's answer from the
        memo. A host whose value has no number (never seen before, or not
        a usable value) is checked on its own with :meth:`reject_reason`.
        The per-host cost is then mostly reading the attribute from the
        HostState, as little as any filter can do.
        """
        hosts = hosts if isinstance(hosts, list) else list(hosts)
        reject_reason = self.reject_reason
        memo = path.memo
        # The values stay referenced by ``values`` during the passes, so
        # their ids cannot be reused meanwhile.
        values = path.values(hosts)
        numbers = list(map(path.keys.lookup, map(id, values)))
        standing_for = dict(zip(numbers, hosts, strict=True))
        for number, host_state in standing_for.items():
            if number is not None and number not in memo:
                reject_reason(host_state, prepared)
        # A host whose value has no number (None) is in no memo: get gives
        # it _NOT_SEEN, as for a number not seen yet.
        reasons = list(map(memo.get, numbers,  # type: ignore[arg-type]
                           repeat(_NOT_SEEN)))
        for index in compress(range(len(reasons)),
                              map(is_, reasons, repeat(_NOT_SEEN))):
            reasons[index] = reject_reason(hosts[index], prepared)
        passed = list(compress(hosts, map(is_, reasons, repeat(None))))
        failed: Iterable[tuple[Any, str | None]] = compress(
            zip(hosts, reasons, strict=True),
            map(is_not, reasons, repeat(None)))
        if LOG.isEnabledFor(std_logging.DEBUG):
            failed = list(failed)
            for host_state, reason in failed:
                LOG.debug("%s: %s fails: %s", name, host_state, reason)
        # Every _NOT_SEEN was replaced above, and only hosts whose reason
        # is not None failed: each of these reasons is a str.
        examples = cast(list[tuple[Any, str]],
                        list(islice(failed, _EXAMPLES)))
        return passed, len(hosts) - len(passed), examples


def _summarise(name: str, spec_obj: Any, total: int, rejected: int,
               examples: list[tuple[Any, str]]) -> None:
    instance = getattr(spec_obj, "instance_uuid", None)
    if not rejected:
        LOG.debug("%s: all %d hosts pass for instance %s", name, total,
                  instance)
        return
    # Every host rejected ends in NoValidHost: worth an INFO line.
    level = std_logging.INFO if rejected == total else std_logging.DEBUG
    if not LOG.isEnabledFor(level):
        return  # the examples' HostState reprs cost more than the check
    LOG.log(level, "%s rejected %d of %d hosts for instance %s (%s%s)",
            name, rejected, total, instance,
            "; ".join("%s: %s" % example for example in examples),
            "; ..." if rejected > len(examples) else "")


def unknown_bits_policy() -> str:
    """``[hwabi_scheduler] unknown_host_bits``, read once per request."""
    policy: str = CONF.hwabi_scheduler.unknown_host_bits
    return policy


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
