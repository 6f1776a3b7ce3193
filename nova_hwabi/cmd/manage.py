"""``nova-hwabi-manage``: machine types and device models of instances.

nova-manage style: reads ``nova.conf`` (``--config-file``), reaches every
cell through the API database, prints a table or ``--format json``.

  machine-type get UUID
  machine-type update UUID TYPE [--force]
  machine-type list-unset [--cell-uuid U] [--limit N] [--marker UUID]
  machine-type record [--connect URI] [--dry-run]     (on a compute host)
  machine-type audit [--connect URI]                  (on a compute host)
  image-property show UUID [PROPERTY]
  image-property list UUID
  image-property set UUID --property NAME=VALUE [--property ...]
  image-property unset UUID PROPERTY [PROPERTY ...]

Exit codes follow nova-manage's for the same commands; see each command's
help and the README.
"""

from __future__ import annotations

import argparse
import json
import sys

from oslo_config import cfg

from nova_hwabi.capabilities.errors import LibvirtConnectionError
from nova_hwabi.cmd import nova_setup
from nova_hwabi.conf import nova as nova_options
from nova_hwabi.machine_type import recorder, records, rules

EXIT_OK = 0
EXIT_UNEXPECTED = 1

# Exit codes per command, as nova-manage's libvirt and image_property ones.
GET_NOT_FOUND, GET_NO_TYPE = 2, 3
UPDATE_NOT_FOUND, UPDATE_STATE, UPDATE_INVALID, UPDATE_UNSUPPORTED = 2, 3, 4, 5
LIST_NO_CELL, LIST_FOUND = 2, 3
LOCAL_NO_LIBVIRT, AUDIT_DRIFT = 2, 3
RECORD_PARTIAL = 3
PROP_NOT_FOUND, PROP_MISSING = 2, 3
PROP_STATE, PROP_FORMAT, PROP_NAME, PROP_VALUE = 3, 4, 5, 6


class _Output:
    """Prints results as a small table or as JSON."""

    def __init__(self, fmt: str) -> None:
        self.json = fmt == "json"

    def emit(self, data, rows: list[tuple[str, object]] | None = None):
        if self.json:
            print(json.dumps(data, indent=2, sort_keys=True))
            return
        for key, value in rows if rows is not None else data.items():
            print("%-20s %s" % (key, "-" if value is None else value))


def _fail(code: int, message: str) -> int:
    print("nova-hwabi-manage: error: %s" % message, file=sys.stderr)
    return code


def machine_type_get(ctxt, args) -> int:
    """Show an instance's recorded (and pinned) machine type.

    Exit codes: 0 found, 1 unexpected error, 2 no such instance,
    3 no machine type recorded.
    """
    try:
        found = records.get_machine_type(ctxt, args.instance_uuid)
    except records.UnknownInstanceError as exc:
        return _fail(GET_NOT_FOUND, str(exc))
    _Output(args.format).emit(found.to_dict())
    if found.recorded is None:
        return _fail(GET_NO_TYPE, "instance %s has no recorded machine type "
                     "(nova-hwabi-manage machine-type update records one)"
                     % found.uuid)
    return EXIT_OK


def machine_type_update(ctxt, args) -> int:
    """Record or change the machine type of a stopped or shelved instance.

    Exit codes: 0 updated (or already so), 1 unexpected error, 2 no such
    instance, 3 vm_state not stopped/shelved, 4 the change is refused
    (family, variant, downgrade or unpinning; --force skips this), 5
    unsupported machine type name.
    """
    try:
        previous, new = records.update_machine_type(
            ctxt, args.instance_uuid, args.machine_type, force=args.force
        )
    except rules.UnsupportedMachineType as exc:
        return _fail(UPDATE_UNSUPPORTED, str(exc))
    except records.UnknownInstanceError as exc:
        return _fail(UPDATE_NOT_FOUND, str(exc))
    except records.InvalidStateError as exc:
        return _fail(UPDATE_STATE, str(exc))
    except rules.InvalidMachineTypeUpdate as exc:
        return _fail(UPDATE_INVALID, str(exc))
    _Output(args.format).emit({"instance": args.instance_uuid,
                               "previous": previous, "machine_type": new})
    return EXIT_OK


def machine_type_list_unset(ctxt, args) -> int:
    """List instances without a recorded machine type, paged by UUID.

    Exit codes: 0 none found, 1 unexpected error, 2 no such cell,
    3 instances found (listed).
    """
    try:
        found = records.list_unset(ctxt, cell_uuid=args.cell_uuid,
                                   limit=args.limit, marker=args.marker)
    except records.UnknownCellError as exc:
        return _fail(LIST_NO_CELL, str(exc))
    if _Output(args.format).json:
        print(json.dumps([item.__dict__ for item in found], indent=2))
    else:
        for item in found:
            print("%s %s %-18s %s" % (item.uuid, item.cell, item.vm_state,
                                      item.host or "-"))
    return LIST_FOUND if found else EXIT_OK


def _local_host(args):
    uri = args.connect or nova_options.connection_uri(args.conf)
    return recorder.read_local_host(uri)


def machine_type_record(ctxt, args) -> int:
    """Record what this host's instances lack, from their running domains.

    What nova-compute records at start-up, for every local domain that is a
    Nova instance: the machine type (running domain, else image, else
    [libvirt] hw_machine_type, else the built-in default), the versioned
    type it runs, and its device buses/models. Never changes what is
    already recorded; --dry-run writes nothing.
    One instance that cannot be recorded is printed with its reason and
    never stops the others.
    Exit codes: 0 done, 1 unexpected error, 2 libvirt unreachable,
    3 some instances could not be recorded.
    """
    try:
        host = _local_host(args)
    except LibvirtConnectionError as exc:
        return _fail(LOCAL_NO_LIBVIRT, str(exc))
    results = recorder.record_local_instances(ctxt, host, args.conf,
                                              dry_run=args.dry_run)
    if _Output(args.format).json:
        print(json.dumps([{
            "instance": item.uuid, "note": item.note,
            "set": item.change.set if item.change else {},
            "sources": item.change.sources if item.change else {},
            "failed": item.failed,
            "dry_run": args.dry_run,
        } for item in results], indent=2))
    else:
        verb = "would record" if args.dry_run else "recorded"
        for item in results:
            print("%s %s" % (item.uuid, item.note or "%s: %s" % (
                verb, item.change.describe())))
    return RECORD_PARTIAL if any(item.failed for item in results) \
        else EXIT_OK


def machine_type_audit(ctxt, args) -> int:
    """Compare recorded, pinned, running and default machine types.

    Flags instances whose record would give them another chipset at their
    next hard reboot or move, and says how to pin them.
    Exit codes: 0 no drift, 1 unexpected error, 2 libvirt unreachable,
    3 drift found.
    """
    try:
        host = _local_host(args)
    except LibvirtConnectionError as exc:
        return _fail(LOCAL_NO_LIBVIRT, str(exc))
    audits = recorder.audit_local_instances(ctxt, host, args.conf)
    if _Output(args.format).json:
        print(json.dumps([audit.to_dict() for audit in audits], indent=2))
    else:
        for audit in audits:
            print("%s recorded=%s pinned=%s running=%s default=%s %s" % (
                audit.uuid, audit.recorded, audit.pinned, audit.running,
                audit.default, "DRIFT: " + "; ".join(audit.drift)
                if audit.drift else "ok"))
    return AUDIT_DRIFT if any(audit.drift for audit in audits) else EXIT_OK


def image_property_show(ctxt, args) -> int:
    """Show one recorded image property, or all of them.

    Exit codes: 0 shown, 1 unexpected error, 2 no such instance,
    3 property not recorded.
    """
    try:
        properties = records.image_properties(ctxt, args.instance_uuid)
    except records.UnknownInstanceError as exc:
        return _fail(PROP_NOT_FOUND, str(exc))
    if args.property is None:
        _Output(args.format).emit(properties)
        return EXIT_OK
    if args.property not in properties:
        return _fail(PROP_MISSING, "instance %s has no image property %s"
                     % (args.instance_uuid, args.property))
    _Output(args.format).emit({args.property: properties[args.property]})
    return EXIT_OK


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


def _change_properties(ctxt, args, changes) -> int:
    try:
        changed = records.set_image_properties(
            ctxt, args.instance_uuid, changes
        )
    except records.UnknownInstanceError as exc:
        return _fail(PROP_NOT_FOUND, str(exc))
    except records.InvalidStateError as exc:
        return _fail(PROP_STATE, str(exc))
    except rules.InvalidImageProperty as exc:
        code = PROP_NAME if exc.kind == "name" else PROP_VALUE
        return _fail(code, str(exc))
    _Output(args.format).emit({
        "instance": args.instance_uuid,
        "changed": {name: {"previous": previous, "new": new}
                    for name, (previous, new) in changed.items()},
    })
    return EXIT_OK


def image_property_set(ctxt, args) -> int:
    """Set device bus/model properties of a stopped or shelved instance.

    Exit codes: 0 set, 1 unexpected error, 2 no such instance, 3 vm_state
    not stopped/shelved, 4 not NAME=VALUE, 5 property name not allowed,
    6 value not allowed (for this machine type).
    """
    try:
        changes = _parse_assignments(args.property or [])
    except ValueError as exc:
        return _fail(PROP_FORMAT, str(exc))
    if not changes:
        return _fail(PROP_FORMAT, "give at least one --property NAME=VALUE")
    return _change_properties(ctxt, args, changes)


def image_property_unset(ctxt, args) -> int:
    """Remove device bus/model properties (the driver default applies).

    Exit codes as for ``set``.
    """
    return _change_properties(ctxt, args,
                              dict.fromkeys(args.properties))


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            "expected a whole number >= 1, got %r" % text
        )
    return value


def _leaf(subparsers, name, handler, help_text):
    parser = subparsers.add_parser(name, help=help_text,
                                   description=handler.__doc__)
    parser.add_argument("--format", choices=("table", "json"),
                        default="table")
    parser.set_defaults(handler=handler)
    return parser


def _add_command_parsers(subparsers) -> None:
    machine_type = subparsers.add_parser(
        "machine-type", help="get, update and list instance machine types")
    commands = machine_type.add_subparsers(dest="action", required=True)
    get = _leaf(commands, "get", machine_type_get,
                "show an instance's machine type")
    get.add_argument("instance_uuid")
    update = _leaf(commands, "update", machine_type_update,
                   "record or change an instance's machine type")
    update.add_argument("instance_uuid")
    update.add_argument("machine_type")
    update.add_argument("--force", action="store_true",
                        help="skip the family/variant/downgrade rules "
                        "(the vm_state and name checks still apply)")
    unset = _leaf(commands, "list-unset", machine_type_list_unset,
                  "list instances with no recorded machine type")
    unset.add_argument("--cell-uuid")
    unset.add_argument("--limit", type=_positive_int)
    unset.add_argument("--marker", help="last UUID of the previous page")
    record = _leaf(commands, "record", machine_type_record,
                   "record what local instances lack (compute host)")
    record.add_argument("--connect", metavar="URI",
                        help="libvirt URI (default: [libvirt] "
                        "connection_uri, else qemu:///system)")
    record.add_argument("--dry-run", action="store_true")
    audit = _leaf(commands, "audit", machine_type_audit,
                  "compare recorded and running machine types (compute "
                  "host)")
    audit.add_argument("--connect", metavar="URI")

    image_property = subparsers.add_parser(
        "image-property", help="show and change device bus/model properties")
    commands = image_property.add_subparsers(dest="action", required=True)
    show = _leaf(commands, "show", image_property_show,
                 "show recorded image properties")
    show.add_argument("instance_uuid")
    show.add_argument("property", nargs="?")
    listing = _leaf(commands, "list", image_property_show,
                    "list recorded image properties")
    listing.add_argument("instance_uuid")
    listing.set_defaults(property=None)
    setter = _leaf(commands, "set", image_property_set,
                   "set device bus/model properties")
    setter.add_argument("instance_uuid")
    setter.add_argument("--property", action="append",
                        metavar="NAME=VALUE")
    unsetter = _leaf(commands, "unset", image_property_unset,
                     "remove device bus/model properties")
    unsetter.add_argument("instance_uuid")
    unsetter.add_argument("properties", nargs="+", metavar="PROPERTY")


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``nova-hwabi-manage``."""
    conf = nova_setup.start(
        "nova-hwabi-manage", argv,
        lambda conf: conf.register_cli_opt(cfg.SubCommandOpt(
            "category", title="commands", handler=_add_command_parsers)),
    )
    from nova import context as nova_context
    from oslo_log import log as logging

    args = conf.category
    args.conf = conf
    try:
        return args.handler(nova_context.get_admin_context(), args)
    except Exception as exc:
        # One line for people; the traceback with --debug.
        logging.getLogger(__name__).debug("Unexpected error", exc_info=True)
        first_line = (str(exc).strip().splitlines() or [""])[0][:300]
        return _fail(EXIT_UNEXPECTED, "unexpected %s: %s (run with --debug "
                     "for details)" % (type(exc).__name__, first_line))


if __name__ == "__main__":
    sys.exit(main())
