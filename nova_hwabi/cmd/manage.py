"""``nova-hwabi-manage``: machine types and device models of instances.

nova-manage style: reads ``nova.conf`` (``--config-file``), reaches every
cell through the API database, prints a table or ``--format json``.

  machine-type get UUID
  machine-type update UUID TYPE [--force]
  machine-type list-unset [--cell-uuid U] [--limit N] [--marker M]
  machine-type transition --from PATTERN --to TYPE [--cell-uuid U]
                          [--limit N] [--marker M] [--dry-run]
  machine-type record [--connect URI] [--dry-run]     (on a compute host)
  machine-type audit [--connect URI]                  (on a compute host)
  address-width audit [--connect URI]                 (on a compute host)
  image-property show UUID [PROPERTY]
  image-property list UUID
  image-property set UUID --property NAME=VALUE [--property ...]
  image-property unset UUID PROPERTY [PROPERTY ...]

Exit codes follow nova-manage's for the same commands: each sub-command
has its table (an ExitCodes class below) that its --help lists and
handlers return by name. Every command exits 78 (CommonExit.CONFIG) when
the configuration is unusable, with one line naming the option and the
file.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, cast

from oslo_config import cfg
from oslo_log import log as logging

from nova_hwabi import values
from nova_hwabi.capabilities.errors import LibvirtConnectionError
from nova_hwabi.cmd import cli, nova_setup
from nova_hwabi.conf import libvirt as libvirt_opts
from nova_hwabi.machine_type import (
    arches,
    devices,
    listings,
    names,
    recorder,
    records,
    updates,
    width_audit,
)
from nova_hwabi.machine_type import transition as transitions

if TYPE_CHECKING:
    # Imported on use in the functions, as before; here only for the
    # annotations.
    from nova_hwabi.machine_type import offered

LOG = logging.getLogger(__name__)


class CommonExit(cli.ExitCodes):
    """Exit codes every sub-command shares."""

    UNEXPECTED = 1, "unexpected error (one line; the traceback with --debug)"
    CONFIG = (nova_setup.EXIT_CONFIG, "the configuration cannot be used: "
              "one line names the option and the file; or a cell's "
              "database cannot be read: one line names the cell (listings "
              "list the other cells)")


# Each sub-command's own codes, as nova-manage's libvirt and
# image_property commands where it has the command.
class GetExit(cli.ExitCodes):
    """Exit codes of ``machine-type get``."""

    OK = 0, "found"
    NOT_FOUND = 2, "no such instance, or not an instance UUID"
    NO_TYPE = 3, "no machine type recorded"


class UpdateExit(cli.ExitCodes):
    """Exit codes of ``machine-type update``."""

    OK = 0, "updated (or already so)"
    NOT_FOUND = 2, "no such instance, or not an instance UUID"
    STATE = 3, "vm_state not stopped or shelved"
    REFUSED = (4, "change refused: family, variant, downgrade, unpinning, "
               "a type the instance's architecture cannot run or no "
               "compute host of that architecture offers per Placement, "
               "or a name in none of QEMU's documented lists for that "
               "architecture that no compute host reports offering "
               "(--force makes these warnings)")
    UNSUPPORTED = 5, "unsupported machine type name"


class ListUnsetExit(cli.ExitCodes):
    """Exit codes of ``machine-type list-unset``."""

    NONE = 0, "no instance without a recorded machine type"
    USAGE = 2, "no such cell, or a bad --limit or --marker"
    FOUND = 3, "instances found (listed)"


class TransitionExit(cli.ExitCodes):
    """Exit codes of ``machine-type transition``."""

    OK = 0, ("every selected instance is on --to (or would be, with "
             "--dry-run; also when none is selected)")
    USAGE = 2, "no such cell, or a bad --limit or --marker"
    NEEDS_STOP = 3, "some need a stop first (4 and 6 take precedence)"
    REFUSED = (4, "some refused by the update rules, as update refuses "
               "them (6 takes precedence)")
    UNSUPPORTED = 5, "--to is not a machine type or --from is not a pattern"
    FAILED = 6, "some failed"


class RecordExit(cli.ExitCodes):
    """Exit codes of ``machine-type record``."""

    OK = 0, "done"
    NO_LIBVIRT = 2, "libvirt unreachable"
    PARTIAL = 3, ("some instances could not be recorded (each printed with "
                  "its reason)")


class AuditExit(cli.ExitCodes):
    """Exit codes of ``machine-type audit``."""

    OK = 0, "no finding"
    NO_LIBVIRT = 2, "libvirt unreachable"
    DRIFT = 3, "drift found"
    UNOFFERED = 4, "no drift, but records no compute host offers"


class WidthAuditExit(cli.ExitCodes):
    """Exit codes of ``address-width audit``."""

    OK = 0, "every passthrough guest at its recorded width"
    NO_LIBVIRT = 2, "libvirt unreachable"
    FLAGGED = 3, ("guests listed whose width differs, is not recorded or "
                  "cannot be known")


class ShowExit(cli.ExitCodes):
    """Exit codes of ``image-property show`` and ``list``."""

    OK = 0, "shown"
    NOT_FOUND = 2, "no such instance, or not an instance UUID"
    MISSING = 3, "property not recorded"


class ChangeExit(cli.ExitCodes):
    """Exit codes of ``image-property set``."""

    OK = 0, "done"
    NOT_FOUND = 2, "no such instance, or not an instance UUID"
    STATE = 3, "vm_state not stopped or shelved"
    FORMAT = 4, "not NAME=VALUE"
    NAME = 5, "property name not allowed"
    VALUE = 6, "value not allowed (for this machine type)"


class UnsetExit(cli.ExitCodes):
    """Exit codes of ``image-property unset`` (it takes names only, so
    neither ``set``'s 4 nor its 6)."""

    OK = 0, "done"
    NOT_FOUND = 2, "no such instance, or not an instance UUID"
    STATE = 3, "vm_state not stopped or shelved"
    NAME = 5, "not a device bus/model property"


# A sub-command: (Nova admin RequestContext, parsed arguments) -> exit code
# (a member of its table). The context is Nova's object, Any at our
# boundary; the arguments are oslo.config's argparse namespace with
# ``conf`` added by _run_command.
Handler = Callable[[Any, argparse.Namespace], int]


def _fail(code: int, message: str) -> int:
    print("nova-hwabi-manage: error: %s" % message, file=sys.stderr)
    return code


def machine_type_get(ctxt: Any, args: argparse.Namespace) -> int:
    """Show an instance's recorded (and pinned) machine type."""
    try:
        found = records.get_machine_type(ctxt, args.instance_uuid)
    except records.UnknownInstanceError as exc:
        return _fail(GetExit.NOT_FOUND, str(exc))
    cli.Output(args.format).emit(found.to_dict())
    if found.recorded is None:
        return _fail(GetExit.NO_TYPE, "instance %s has no recorded machine "
                     "type (nova-hwabi-manage machine-type update records "
                     "one)" % found.uuid)
    return GetExit.OK


def machine_type_update(ctxt: Any, args: argparse.Namespace) -> int:
    """Record or change the machine type of a stopped or shelved instance.

    Refused: a change of family or variant, a downgrade, unpinning, or a
    machine type the instance's architecture cannot run, or that no
    compute host of that architecture offers per Placement, or that is in
    none of QEMU's documented machine lists for that architecture while no
    compute host reports offering it (a typo such as q53 or pc-q35-7.22;
    --force makes these warnings). When Placement cannot tell what hosts
    offer, one note line on stderr says the check was skipped.
    """
    offers = _machine_type_offers(args.conf)
    try:
        previous, new = records.update_machine_type(
            ctxt, args.instance_uuid, args.machine_type, force=args.force,
            default_arch=args.conf.hwabi_scheduler.default_guest_arch,
            offered_for=offers,
        )
    except names.UnsupportedMachineType as exc:
        return _fail(UpdateExit.UNSUPPORTED, str(exc))
    except records.UnknownInstanceError as exc:
        return _fail(UpdateExit.NOT_FOUND, str(exc))
    except records.InvalidStateError as exc:
        return _fail(UpdateExit.STATE, str(exc))
    except updates.InvalidMachineTypeUpdate as exc:
        _note_skipped(offers)
        return _fail(UpdateExit.REFUSED, str(exc))
    _note_skipped(offers)
    cli.Output(args.format).emit({"instance": args.instance_uuid,
                                  "previous": previous, "machine_type": new})
    return UpdateExit.OK


def _machine_type_offers(conf: cfg.ConfigOpts) -> offered.MachineTypeOffers:
    """What hosts offer, per Placement's machine-type traits, for update
    and transition (:class:`offered.MachineTypeOffers`)."""
    from nova_hwabi.machine_type import offered

    return offered.MachineTypeOffers(conf)


def _note_skipped(offers: offered.MachineTypeOffers) -> None:
    """One line on stderr when the hosts' machine types could not be
    asked; not an error."""
    if offers.skipped:
        print("nova-hwabi-manage: note: not checked against the machine "
              "types compute hosts offer: %s" % offers.skipped,
              file=sys.stderr)


def machine_type_list_unset(ctxt: Any, args: argparse.Namespace) -> int:
    """List instances without a recorded machine type, cell by cell.

    With --limit N, at most N; when more are left, the last line says the
    --marker of the next page ("next_marker" in JSON, null at the end).
    --marker also takes the UUID of the last instance a page listed.
    """
    try:
        found = listings.list_unset(ctxt, cell_uuid=args.cell_uuid,
                                   limit=args.limit, marker=args.marker)
    except (listings.UnknownCellError, listings.InvalidMarkerError) as exc:
        return _fail(ListUnsetExit.USAGE, str(exc))
    cli.Output(args.format).emit(
        {"instances": [item.to_dict() for item in found],
         "next_marker": found.next_marker,
         "unreadable_cells": [exc.to_dict() for exc in found.unreadable]},
        _unset_lines(found))
    if found.unreadable:
        return _unreadable_cells(found.unreadable)
    return ListUnsetExit.FOUND if found else ListUnsetExit.NONE


def _unreadable_cells(unreadable: list[records.CellDatabaseError]) -> int:
    """One error line per cell a listing could not read; the exit code."""
    for exc in unreadable:
        _fail(CommonExit.CONFIG, str(exc))
    return CommonExit.CONFIG


def _unset_lines(
    found: listings.Page[listings.UnsetInstance],
) -> Iterator[str]:
    for item in found:
        yield "%s %s %-18s %s" % (item.uuid, item.cell, item.vm_state,
                                  item.host or "-")
    if found.next_marker:
        yield "more instances are listed with --marker %s" % found.next_marker


def _transition_exit_code(rows: list[transitions.Row]) -> int:
    outcomes = {row.outcome for row in rows}
    for outcome, code in ((transitions.FAILED, TransitionExit.FAILED),
                          (transitions.REFUSED, TransitionExit.REFUSED),
                          (transitions.NEEDS_STOP,
                           TransitionExit.NEEDS_STOP)):
        if outcome in outcomes:
            return code
    return TransitionExit.OK


def machine_type_transition(ctxt: Any, args: argparse.Namespace) -> int:
    """Move every instance whose machine type matches --from to --to.

    --from is a glob over the pinned or recorded type (pc-i440fx-*, pc) or
    an inclusive versioned range FIRST..LAST of one family
    (pc-q35-2.0..pc-q35-4.2; an end may be left out). Stopped and shelved
    instances are updated as `machine-type update` does (record, pin,
    RequestSpec); active ones are listed as needing a stop first; the
    update rules apply (no --force), and so does update's check of the
    instance's architecture and of what hosts offer (a --to in none of
    QEMU's documented lists that no host offers is refused, per
    instance). One row per
    instance. Re-runs skip
    instances already moved; with --limit N the last line gives the
    --marker of the next run. A failure on one instance is its row.
    """
    try:
        target = names.parse_machine_type(args.to)
        pattern = transitions.parse_pattern(args.source)
    except names.MachineTypeError as exc:
        return _fail(TransitionExit.UNSUPPORTED, str(exc))
    if not arches.documented_arches(target.name):
        # Each selected instance is refused unless a host offers it (a
        # newer board), as update refuses it; a run that selects nothing
        # must not let a typo pass silently: say so before any instance
        # is read.
        print("nova-hwabi-manage: note: --to %s is in none of QEMU's "
              "documented machine lists; check the spelling (each selected "
              "instance is refused unless a compute host reports offering "
              "it)" % target.name, file=sys.stderr)
    offers = _machine_type_offers(args.conf)
    try:
        result = listings.transition(
            ctxt, pattern, target, cell_uuid=args.cell_uuid,
            limit=args.limit, marker=args.marker, dry_run=args.dry_run,
            default_arch=args.conf.hwabi_scheduler.default_guest_arch,
            offered_for=offers)
    except (listings.UnknownCellError, listings.InvalidMarkerError) as exc:
        return _fail(TransitionExit.USAGE, str(exc))
    _note_skipped(offers)
    summary = transitions.summarise(result.rows)
    cli.Output(args.format).emit({
        "from": args.source, "to": target.name,
        "dry_run": args.dry_run,
        "instances": [row.to_dict() for row in result.rows],
        "summary": summary, "next_marker": result.next_marker,
        "unreadable_cells": [exc.to_dict() for exc in result.unreadable],
    }, _transition_lines(args.source, target.name, result, summary))
    if result.unreadable:
        return _unreadable_cells(result.unreadable)
    return _transition_exit_code(result.rows)


def _transition_lines(source: str, target: str,
                      result: listings.TransitionResult,
                      summary: Mapping[str, int]) -> Iterator[str]:
    for row in result.rows:
        yield "%s %s %-17s %-18s %-12s %s" % (
            row.uuid, row.cell, row.vm_state, row.current or "-",
            row.outcome, row.reason)
    yield "%s -> %s: %s" % (source, target, ", ".join(
        "%d %s" % (count, outcome)
        for outcome, count in summary.items() if count) or
        "no instance selected")
    if result.next_marker:
        yield ("more instances match: run again with --marker %s"
               % result.next_marker)


def _local_host(args: argparse.Namespace) -> recorder.LocalHost:
    uri = args.connect or libvirt_opts.connection_uri(args.conf)
    return recorder.read_local_host(uri)


def machine_type_record(ctxt: Any, args: argparse.Namespace) -> int:
    """Record what this host's instances lack, from their running domains.

    What nova-compute records at start-up, for every local domain that is a
    Nova instance: the machine type (running domain, else image, else
    [libvirt] hw_machine_type, else the built-in default), the versioned
    type it runs, and its device buses/models. Never changes what is
    already recorded; --dry-run writes nothing.
    One instance that cannot be recorded is printed with its reason and
    never stops the others.
    """
    try:
        host = _local_host(args)
    except LibvirtConnectionError as exc:
        return _fail(RecordExit.NO_LIBVIRT, str(exc))
    results = recorder.record_local_instances(ctxt, host, args.conf,
                                              dry_run=args.dry_run)
    verb = "would record" if args.dry_run else "recorded"
    # Keys in the order this list has always printed them.
    cli.Output(args.format, sort_keys=False).emit(
        [dict(item.to_dict(), dry_run=args.dry_run) for item in results],
        # The recorder gives a note whenever it has no change to show.
        ("%s %s" % (item.uuid, item.note or "%s: %s" % (
            verb, item.change.describe() if item.change else "-"))
         for item in results))
    return RecordExit.PARTIAL if any(item.failed for item in results) \
        else RecordExit.OK


def machine_type_audit(ctxt: Any, args: argparse.Namespace) -> int:
    """Compare recorded, pinned, running and default machine types.

    Flags instances whose record would give them another chipset at their
    next hard reboot or move, and says how to pin them. With [placement]
    usable, also flags recorded device buses/models and pinned machine
    types no compute host offers (Nova's device traits, nova-hwabi's
    machine-type traits): such instances cannot start after a move.
    """
    try:
        host = _local_host(args)
    except LibvirtConnectionError as exc:
        return _fail(AuditExit.NO_LIBVIRT, str(exc))
    audits = recorder.audit_local_instances(ctxt, host, args.conf)
    unoffered, not_checked = _audit_offers(ctxt, args.conf, host, audits)
    # Keys in the order this list has always printed them.
    cli.Output(args.format, sort_keys=False).emit(
        [dict(audit.to_dict(), unoffered=unoffered.get(audit.uuid, []))
         for audit in audits],
        (_audit_line(audit, unoffered.get(audit.uuid, []))
         for audit in audits))
    if not_checked:
        print("nova-hwabi-manage: note: offers not checked: %s"
              % not_checked, file=sys.stderr)
    if any(audit.drift for audit in audits):
        return AuditExit.DRIFT
    return AuditExit.UNOFFERED if any(unoffered.values()) else AuditExit.OK


def _audit_line(audit: recorder.Audit, unoffered: list[str]) -> str:
    findings = audit.drift + unoffered
    return "%s recorded=%s pinned=%s running=%s default=%s %s" % (
        audit.uuid, audit.recorded, audit.pinned, audit.running,
        audit.default, "DRIFT: " + "; ".join(findings)
        if audit.drift else "UNOFFERED: " + "; ".join(findings)
        if findings else "ok")


def _audit_offers(
    ctxt: Any, conf: cfg.ConfigOpts, host: recorder.LocalHost,
    audits: list[recorder.Audit],
) -> tuple[dict[str, list[str]], str | None]:
    """({uuid: reasons}, None), or ({}, why Placement was not asked)."""
    from nova_hwabi import placement
    from nova_hwabi.machine_type import offered

    arches = {domain.uuid: domain.arch for domain in host.domains}
    try:
        offers = offered.Offers(placement.PlacementClient.from_conf(conf))
        found: dict[str, list[str]] = {}
        for audit in audits:
            metadata = records.instance_system_metadata(ctxt, audit.uuid)
            found[audit.uuid] = offered.unoffered(
                offers, metadata or {}, arches.get(audit.uuid))
        return found, None
    except placement.PlacementError as exc:
        return {}, str(exc)


def address_width_audit(ctxt: Any, args: argparse.Namespace) -> int:
    """List passthrough guests whose width here differs from the record.

    For each local domain with <maxphysaddr mode='passthrough'> that is a
    Nova instance: the bits recorded for it and the bits this host gives
    it (host CPU bits, capped by the domain's limit).
    """
    try:
        host = _local_host(args)
    except LibvirtConnectionError as exc:
        return _fail(WidthAuditExit.NO_LIBVIRT, str(exc))
    rows = width_audit.audit_local_widths(ctxt, host)
    # Keys in the order this list has always printed them.
    cli.Output(args.format, sort_keys=False).emit(
        [row.to_dict() for row in rows],
        ("%s recorded=%s host=%s limit=%s %s%s" % (
            row.uuid, _dash(row.recorded), _dash(row.on_host),
            _dash(row.limit), row.status.upper() if row.finding
            else row.status, ": " + row.note if row.note else "")
         for row in rows))
    return WidthAuditExit.FLAGGED if any(row.finding for row in rows) \
        else WidthAuditExit.OK


def _dash(value: object) -> str:
    return "-" if value is None else str(value)


def image_property_show(ctxt: Any, args: argparse.Namespace) -> int:
    """Show one recorded image property, or all of them."""
    try:
        properties = records.image_properties(ctxt, args.instance_uuid)
    except records.UnknownInstanceError as exc:
        return _fail(ShowExit.NOT_FOUND, str(exc))
    if args.property is None:
        cli.Output(args.format).emit(properties)
        return ShowExit.OK
    if args.property not in properties:
        return _fail(ShowExit.MISSING, "instance %s has no image property %s"
                     % (args.instance_uuid, args.property))
    cli.Output(args.format).emit({args.property: properties[args.property]})
    return ShowExit.OK


def _parse_assignments(values: list[str]) -> dict[str, str]:
    parsed = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise ValueError(
                "--property %r: expected NAME=VALUE, e.g. hw_disk_bus=virtio"
                % item
            )
        parsed[name.strip()] = value.strip()
    return parsed


def _change_properties(
    ctxt: Any, args: argparse.Namespace, changes: dict[str, str | None],
    codes: type[ChangeExit] | type[UnsetExit],
) -> int:
    """Set or unset (None) ``changes``, exiting with ``codes`` (a value
    error only comes from set, whose changes have values)."""
    try:
        changed = records.set_image_properties(
            ctxt, args.instance_uuid, changes
        )
    except records.UnknownInstanceError as exc:
        return _fail(codes.NOT_FOUND, str(exc))
    except records.InvalidStateError as exc:
        return _fail(codes.STATE, str(exc))
    except devices.InvalidImageProperty as exc:
        code = codes.NAME if exc.kind == "name" else ChangeExit.VALUE
        return _fail(code, str(exc))
    warnings = _unoffered_warnings(args.conf, {
        name: new for name, (_, new) in changed.items() if new is not None})
    for warning in warnings:
        print("nova-hwabi-manage: warning: %s" % warning, file=sys.stderr)
    data: dict[str, object] = {
        "instance": args.instance_uuid,
        "changed": {name: {"previous": previous, "new": new}
                    for name, (previous, new) in changed.items()},
    }
    if warnings:
        data["warnings"] = warnings
    cli.Output(args.format).emit(data, cli.key_value_lines([
        ("instance", args.instance_uuid),
        *((name, "%s -> %s" % (previous or "-", new or "- (unset)"))
          for name, (previous, new) in sorted(changed.items())),
    ]))
    return codes.OK


def _unoffered_warnings(conf: cfg.ConfigOpts,
                        values: dict[str, str]) -> list[str]:
    """Why no compute host could start the instance with ``values``.

    Asks Placement which hosts report Nova's trait of each device value
    (COMPUTE_GRAPHICS_MODEL_QXL for hw_video_model=qxl). Says nothing
    when it cannot tell: no [placement] credentials, Placement
    unreachable, or no host reporting device traits at all.
    """
    from nova_hwabi import placement
    from nova_hwabi.machine_type import offered

    traits = {name: offered.device_trait(name, value)
              for name, value in values.items()}
    wanted = {name: trait for name, trait in traits.items() if trait}
    if not wanted:
        return []
    try:
        offers = offered.Offers(placement.PlacementClient.from_conf(conf))
        if not offers.reports_device_traits():
            return []
        return ["no compute host offers %s (%s=%s): the instance cannot "
                "start on any host until one does" % (
                    trait, name, values[name])
                for name, trait in sorted(wanted.items())
                if not offers.hosts_with(trait)]
    except placement.PlacementError as exc:
        from oslo_log import log as logging

        logging.getLogger(__name__).debug(
            "Not checking the new values against Placement: %s", exc)
        return []


def image_property_set(ctxt: Any, args: argparse.Namespace) -> int:
    """Set device bus/model properties of a stopped or shelved instance.

    When Placement is configured ([placement]) and hosts report Nova's
    device traits, warns (on stderr, and under "warnings" in JSON) about
    each new value no compute host offers; the value is still set.
    """
    try:
        changes = _parse_assignments(args.property or [])
    except ValueError as exc:
        return _fail(ChangeExit.FORMAT, str(exc))
    if not changes:
        return _fail(ChangeExit.FORMAT,
                     "give at least one --property NAME=VALUE")
    # Widened for set_image_properties, where None means unset; it only
    # reads the mapping, so dict's invariance does not matter here.
    return _change_properties(
        ctxt, args, cast("dict[str, str | None]", changes), ChangeExit)


def image_property_unset(ctxt: Any, args: argparse.Namespace) -> int:
    """Remove device bus/model properties (the driver default applies)."""
    return _change_properties(ctxt, args, dict.fromkeys(args.properties),
                              UnsetExit)


def _limit(text: str) -> int:
    """--limit: a whole number from 1 to listings.MAX_INSTANCE_ID (more
    than a cell can hold; a larger one overflowed the database's integer,
    an unexpected error with a traceback)."""
    value = values.parse_decimal(text)
    if value is None or value < 1:
        raise argparse.ArgumentTypeError(
            "expected a whole number >= 1, got %r" % text
        )
    if value > listings.MAX_INSTANCE_ID:
        raise argparse.ArgumentTypeError(
            "at most %d, got %s" % (listings.MAX_INSTANCE_ID, text.strip()))
    return value


def _uuid(text: str) -> str:
    """An instance or cell UUID argument as Nova stores UUIDs (lower case,
    dashed: ``listings.canonical_uuid``), so that an upper-case or undashed
    UUID finds its instance; anything else as given, for the command to
    say it is not a UUID (exit 2, as nova-manage)."""
    return listings.canonical_uuid(text) or text


def _leaf(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str, handler: Handler, codes: type[cli.ExitCodes], help_text: str,
) -> argparse.ArgumentParser:
    """A sub-command: its description is the handler's docstring, its
    help ends with its exit codes (``codes`` and :class:`CommonExit`)."""
    parser = subparsers.add_parser(
        name, help=help_text, description=cli.paragraphs(handler.__doc__),
        epilog=cli.exit_codes_epilog(codes, CommonExit),
        formatter_class=cli.HELP_FORMATTER)
    parser.add_argument("--format", choices=("table", "json"),
                        default="table")
    parser.set_defaults(handler=handler, exit_codes=codes)
    return parser


def _add_command_parsers(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    machine_type = subparsers.add_parser(
        "machine-type", help="get, update and list instance machine types")
    commands = machine_type.add_subparsers(dest="action", required=True)
    get = _leaf(commands, "get", machine_type_get, GetExit,
                "show an instance's machine type")
    get.add_argument("instance_uuid", type=_uuid)
    update = _leaf(commands, "update", machine_type_update, UpdateExit,
                   "record or change an instance's machine type")
    update.add_argument("instance_uuid", type=_uuid)
    update.add_argument("machine_type")
    update.add_argument("--force", action="store_true",
                        help="skip the family/variant/downgrade rules and "
                        "only warn when the instance's architecture or no "
                        "compute host offers the type (the vm_state and "
                        "name checks still apply)")
    unset = _leaf(commands, "list-unset", machine_type_list_unset,
                  ListUnsetExit,
                  "list instances with no recorded machine type")
    unset.add_argument("--cell-uuid", type=_uuid)
    unset.add_argument("--limit", type=_limit)
    unset.add_argument("--marker",
                       help="where the previous page ended: the marker "
                       "it printed, or the UUID of the last instance it "
                       "listed")
    transition = _leaf(commands, "transition", machine_type_transition,
                       TransitionExit,
                       "move instances matching a pattern to a machine type")
    transition.add_argument(
        "--from", dest="source", required=True, metavar="PATTERN",
        help="glob over the pinned or recorded type (pc-i440fx-*) or a "
        "versioned range FIRST..LAST (pc-q35-2.0..pc-q35-4.2)")
    transition.add_argument("--to", required=True, metavar="TYPE")
    transition.add_argument("--cell-uuid", type=_uuid)
    transition.add_argument("--limit", type=_limit,
                            help="at most N instances in this run")
    transition.add_argument("--marker",
                            help="resume where the previous run ended: "
                            "the marker it printed, or the UUID of the "
                            "last instance it listed")
    transition.add_argument("--dry-run", action="store_true",
                            help="say what would happen, write nothing")
    record = _leaf(commands, "record", machine_type_record, RecordExit,
                   "record what local instances lack (compute host)")
    record.add_argument("--connect", metavar="URI",
                        help="libvirt URI (default: [libvirt] "
                        "connection_uri, else qemu:///system)")
    record.add_argument("--dry-run", action="store_true")
    audit = _leaf(commands, "audit", machine_type_audit, AuditExit,
                  "compare recorded and running machine types (compute "
                  "host)")
    audit.add_argument("--connect", metavar="URI")

    width = subparsers.add_parser(
        "address-width", help="address width of passthrough guests")
    commands = width.add_subparsers(dest="action", required=True)
    width_audit_parser = _leaf(
        commands, "audit", address_width_audit, WidthAuditExit,
        "list passthrough guests whose width on this host differs from "
        "their recorded width (compute host)")
    width_audit_parser.add_argument("--connect", metavar="URI")

    image_property = subparsers.add_parser(
        "image-property", help="show and change device bus/model properties")
    commands = image_property.add_subparsers(dest="action", required=True)
    show = _leaf(commands, "show", image_property_show, ShowExit,
                 "show recorded image properties")
    show.add_argument("instance_uuid", type=_uuid)
    show.add_argument("property", nargs="?")
    listing = _leaf(commands, "list", image_property_show, ShowExit,
                    "list recorded image properties")
    listing.add_argument("instance_uuid", type=_uuid)
    listing.set_defaults(property=None)
    setter = _leaf(commands, "set", image_property_set, ChangeExit,
                   "set device bus/model properties")
    setter.add_argument("instance_uuid", type=_uuid)
    setter.add_argument("--property", action="append",
                        metavar="NAME=VALUE")
    unsetter = _leaf(commands, "unset", image_property_unset, UnsetExit,
                     "remove device bus/model properties")
    unsetter.add_argument("instance_uuid", type=_uuid)
    unsetter.add_argument("properties", nargs="+", metavar="PROPERTY")


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``nova-hwabi-manage``.

    Every sub-command exits 78 (``nova_setup.EXIT_CONFIG``) with one line
    on stderr when the configuration is unusable: ``[api_database]
    connection`` missing, wrong or unreachable, a wrong option value, an
    unreadable config file.
    """
    return nova_setup.run(
        "nova-hwabi-manage", argv,
        lambda conf: conf.register_cli_opt(cfg.SubCommandOpt(
            "category", title="commands", handler=_add_command_parsers)),
        _run_command,
    )


def _run_command(conf: cfg.ConfigOpts) -> int:
    from nova import context as nova_context

    args = conf.category
    args.conf = conf
    try:
        handler: Handler = args.handler  # set by _leaf per sub-command
        return handler(nova_context.get_admin_context(), args)
    except records.CellDatabaseError as exc:
        # The cell mapping's database_connection: configuration.
        return _fail(CommonExit.CONFIG, str(exc))
    except Exception as exc:
        # One line for people; the traceback with --debug.
        LOG.debug("Unexpected error", exc_info=True)
        first_line = (str(exc).strip().splitlines() or [""])[0][:300]
        return _fail(CommonExit.UNEXPECTED, "unexpected %s: %s (run with "
                     "--debug for details)" % (type(exc).__name__,
                                               first_line))


if __name__ == "__main__":
    sys.exit(main())
