"""``nova-hwabi-status upgrade check``: is it safe to change machine types?

Checks, with oslo.upgradecheck's codes (0 success, 1 warning, 2 failure;
78 when the configuration cannot be used and no check ran):

- instances on libvirt hosts (or on none) that have no recorded machine
  type: until each has one, changing ``[libvirt] hw_machine_type`` changes
  their chipset at their next hard reboot or move;
- ``[libvirt] hw_machine_type`` itself: a malformed entry fails loudly
  instead of being ignored;
- versioned machine types instances are pinned to that no compute host
  offers (from the CUSTOM_HWABI_MACHINE_* traits hosts report to
  Placement with ``[hwabi_capabilities] report_machine_type_traits``):
  such instances cannot start after a move; and those some host's QEMU
  marks deprecated (CUSTOM_HWABI_DEPRECATED_MACHINE_*, same opt-in): the
  next QEMU may drop them. Not checked, and said so, when no host reports
  those traits or ``[placement]`` has no credentials; a warning when
  Placement is configured but cannot be asked (down, refused, incomplete
  credentials);
- device buses and models recorded for instances (``image_hw_disk_bus``,
  ``image_hw_cdrom_bus``, ``image_hw_video_model``, ``image_hw_vif_model``)
  that no compute host offers (Nova's own ``COMPUTE_STORAGE_BUS_*``,
  ``COMPUTE_GRAPHICS_MODEL_*``, ``COMPUTE_NET_VIF_MODEL_*`` traits): such
  instances cannot start after a move (a recorded ``qxl`` on hosts whose
  QEMU has no QXL);
- flavors whose ``capabilities:`` extra specs would pass other compute
  hosts under the other ``[hwabi_scheduler] capabilities_operators`` mode
  (Nova's substring ``<in>`` vs typed membership): each is named with its
  spec and the number of hosts that would change, so an operator sees what
  switching modes does before doing it.

``upgrade check --verbose`` names every instance a warning counts.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from typing import Any

from oslo_config import cfg
from oslo_upgradecheck import upgradecheck

from nova_hwabi import placement
from nova_hwabi.cmd import cli, nova_setup
from nova_hwabi.machine_type import defaults, listings, offered, records


def operator_mode_differences(
    *args: Any, **kwargs: Any
) -> dict[str, list[Any]]:
    """:func:`nova_hwabi.filters.compute_capabilities.operator_mode_differences`.

    Imported on use: the filter module imports Nova's scheduler.
    """
    from nova_hwabi.filters import compute_capabilities

    return compute_capabilities.operator_mode_differences(*args, **kwargs)


class UpgradeCheckExit(cli.ExitCodes):
    """Exit codes of ``nova-hwabi-status upgrade check``: oslo.upgradecheck's,
    and the admin commands' code for an unusable configuration."""

    SUCCESS = int(upgradecheck.Code.SUCCESS), "every check succeeded"
    WARNING = (int(upgradecheck.Code.WARNING),
               "at least one check warns, none failed: read the details")
    FAILURE = int(upgradecheck.Code.FAILURE), (
        "at least one check failed, or could not read a cell's database "
        "(its details name the cell)")
    CONFIG = (nova_setup.EXIT_CONFIG, "the configuration cannot be used, no "
              "check ran: one line names the option and the file")
    # upgradecheck.run's own code for a check that raised.
    CRASHED = 255, "a check crashed (oslo.upgradecheck prints the error)"


# How many unrecorded instances to name in the check's details.
_EXAMPLES = 5

_Check = Callable[[Any], upgradecheck.Result]


def _cells_readable(check: _Check) -> _Check:
    """``check``, failing (not crashing) when a cell's database cannot be
    read: the result's details name the cell and how to fix its mapping,
    so ``--json`` stays JSON and the exit code is the result's (2), not
    oslo.upgradecheck's 255 with a traceback."""
    @functools.wraps(check)
    def checked(self: Any) -> upgradecheck.Result:
        try:
            return check(self)
        except records.CellDatabaseError as exc:
            return upgradecheck.Result(
                upgradecheck.Code.FAILURE, "Not checked: %s" % exc)
    return checked


class Checks(upgradecheck.UpgradeCommands):
    """nova-hwabi's upgrade checks."""

    def __init__(self, conf: cfg.ConfigOpts,
                 context_factory: Callable[[], Any],
                 verbose: bool | None = None) -> None:
        self._conf = conf
        self._context = context_factory
        self._verbose_override = verbose

    @property
    def _verbose(self) -> bool:
        if self._verbose_override is not None:
            return self._verbose_override
        command = getattr(self._conf, "command", None)
        return bool(getattr(command, "verbose", False))

    def _named(self, uuids: list[str]) -> str:
        """': uuid, uuid' with --verbose, else ''."""
        return ": " + ", ".join(sorted(uuids)) if self._verbose else ""

    @_cells_readable
    def _check_unset_machine_types(self) -> upgradecheck.Result:
        missing = listings.list_unset(self._context())
        # The other cells are listed; the unreadable ones fail the check.
        unread = "".join("Not checked: %s. " % exc
                         for exc in missing.unreadable)
        code = (upgradecheck.Code.FAILURE if unread
                else upgradecheck.Code.WARNING)
        if not missing:
            return upgradecheck.Result(
                code if unread else upgradecheck.Code.SUCCESS,
                unread.strip() or None)
        named = ", ".join(item.uuid for item in missing[:_EXAMPLES])
        return upgradecheck.Result(
            code,
            unread + "%d instance(s) have no recorded machine type (%s%s). "
            "Record them (nova-hwabi-manage machine-type list-unset / "
            "update, or start nova-compute) before changing [libvirt] "
            "hw_machine_type." % (len(missing), named,
                                  ", ..." if len(missing) > _EXAMPLES
                                  else ""),
        )

    def _check_default_config(self) -> upgradecheck.Result:
        try:
            for arch in sorted(defaults.configured_arches(self._conf)):
                defaults.default_machine_type(arch, self._conf)
        except defaults.InvalidMachineTypeConfig as exc:
            return upgradecheck.Result(upgradecheck.Code.FAILURE, str(exc))
        return upgradecheck.Result(upgradecheck.Code.SUCCESS)

    @_cells_readable
    def _check_offered_machine_types(self) -> upgradecheck.Result:
        pinned = listings.pinned_instances(self._context())
        if not pinned:
            return upgradecheck.Result(upgradecheck.Code.SUCCESS)
        try:
            offers = offered.Offers(
                placement.PlacementClient.from_conf(self._conf))
            if not offers.reports_machine_types():
                return upgradecheck.Result(
                    upgradecheck.Code.SUCCESS,
                    "Not checked: no compute host reports machine-type "
                    "traits ([hwabi_capabilities] report_machine_type_traits"
                    " with nova-hwabi-report --sync).")
            missing, deprecated = self._machine_type_offers(offers, pinned)
        except placement.PlacementError as exc:
            return _placement_not_asked(exc)
        if not missing and not deprecated:
            return upgradecheck.Result(upgradecheck.Code.SUCCESS)
        parts = []
        if missing:
            parts.append(
                "No compute host offers %s: those instances cannot start "
                "after a move. Keep a host with that QEMU, or update their "
                "machine type (nova-hwabi-manage machine-type update or "
                "transition) while stopped." % "; ".join(
                    "%s for %s (%d instance(s)%s)" % (
                        mt, arch, len(uuids), self._named(uuids))
                    for (arch, mt), uuids in sorted(missing.items())))
        if deprecated:
            parts.append(
                "Deprecated by QEMU on some compute hosts: %s; a later QEMU "
                "may drop them: move those instances on (nova-hwabi-manage "
                "machine-type transition --from TYPE --to NEWER)." % "; ".join(
                    "%s for %s on %d host(s) (%d instance(s)%s)" % (
                        mt, arch, hosts, len(uuids), self._named(uuids))
                    for (arch, mt), (hosts, uuids)
                    in sorted(deprecated.items())))
        return upgradecheck.Result(upgradecheck.Code.WARNING, " ".join(parts))

    def _machine_type_offers(
        self, offers: offered.Offers,
        pinned: dict[tuple[str | None, str], list[str]],
    ) -> tuple[dict[tuple[str, str], list[str]],
               dict[tuple[str, str], tuple[int, list[str]]]]:
        """({(arch, type): uuids} no host offers, {(arch, type): (hosts,
        uuids)} some host marks deprecated)."""
        default_arch = self._conf.hwabi_scheduler.default_guest_arch
        missing: dict[tuple[str, str], list[str]] = {}
        deprecated: dict[tuple[str, str], tuple[int, list[str]]] = {}
        for (arch, machine_type), uuids in pinned.items():
            arch = arch or default_arch
            offer, deprecation = offered.machine_type_traits(
                arch, machine_type)
            key = (arch, machine_type)
            if not offers.hosts_with(offer):
                missing[key] = missing.get(key, []) + uuids
                continue
            hosts = offers.hosts_with(deprecation)
            if hosts:
                previous = deprecated.get(key, (hosts, []))[1]
                deprecated[key] = (hosts, previous + uuids)
        return missing, deprecated

    @_cells_readable
    def _check_offered_devices(self) -> upgradecheck.Result:
        recorded = listings.recorded_devices(self._context())
        if not recorded:
            return upgradecheck.Result(upgradecheck.Code.SUCCESS)
        try:
            offers = offered.Offers(
                placement.PlacementClient.from_conf(self._conf))
            if not offers.reports_device_traits():
                return upgradecheck.Result(
                    upgradecheck.Code.SUCCESS,
                    "Not checked: no compute host reports Nova's device "
                    "traits (COMPUTE_STORAGE_BUS_*, ...) to Placement.")
            stranded = self._stranded_devices(offers, recorded)
        except placement.PlacementError as exc:
            return _placement_not_asked(exc)
        if not stranded:
            return upgradecheck.Result(upgradecheck.Code.SUCCESS)
        return upgradecheck.Result(
            upgradecheck.Code.WARNING,
            "No compute host offers %s: those instances cannot start after "
            "a move. Keep a host that offers it, or change the property "
            "while stopped (nova-hwabi-manage image-property set UUID "
            "--property NAME=VALUE)." % "; ".join(
                "%s=%s (%s, %d instance(s)%s)" % (
                    name, value, trait, len(uuids), self._named(uuids))
                for (name, value, trait), uuids in sorted(stranded.items())))

    @staticmethod
    def _stranded_devices(
        offers: offered.Offers, recorded: dict[str, dict[str, str]],
    ) -> dict[tuple[str, str, str], list[str]]:
        stranded: dict[tuple[str, str, str], list[str]] = {}
        for uuid in sorted(recorded):
            for name, (value, trait) in offered.device_traits(
                    recorded[uuid]).items():
                if not offers.hosts_with(trait):
                    stranded.setdefault((name, value, trait), []).append(
                        uuid)
        return stranded

    @_cells_readable
    def _check_capabilities_operators(self) -> upgradecheck.Result:
        current = self._conf.hwabi_scheduler.capabilities_operators
        other = "typed" if current == "nova" else "nova"
        ctxt = self._context()
        flavors = capability_flavors(ctxt)
        if not flavors:
            return upgradecheck.Result(upgradecheck.Code.SUCCESS)
        hosts = compute_host_states(ctxt)
        changes: list[str] = []
        for flavor in flavors:
            differences = operator_mode_differences(
                flavor.extra_specs, hosts, current, other)
            changes.extend(
                "flavor %s (%s): %s = %r, %d host(s)" % (
                    flavor.name, flavor.flavorid, key,
                    flavor.extra_specs[key], len(changed))
                for key, changed in differences.items())
        if not changes:
            return upgradecheck.Result(
                upgradecheck.Code.SUCCESS,
                "%d flavor(s) use <in>, <all-in> or <or> in capabilities: "
                "extra specs; none passes other hosts among the %d compute "
                "host(s) under capabilities_operators = %s."
                % (len(flavors), len(hosts), other))
        return upgradecheck.Result(
            upgradecheck.Code.WARNING,
            "[hwabi_scheduler] capabilities_operators = %s would change "
            "which compute hosts these flavors pass (now %s): %s. Review "
            "those extra specs before switching: typed <in> and <all-in> "
            "match whole list members (CPU features) only, and typed <or> "
            "needs <or> between alternatives."
            % (other, current, "; ".join(changes)))

    _upgrade_checks = (
        ("Recorded machine types", _check_unset_machine_types),
        ("[libvirt] hw_machine_type", _check_default_config),
        ("Pinned machine types offered", _check_offered_machine_types),
        ("Recorded devices offered", _check_offered_devices),
        ("capabilities: operators", _check_capabilities_operators),
    )


def _placement_not_asked(exc: Exception) -> upgradecheck.Result:
    """The result of a Placement-backed check that could not ask it.

    No ``[placement]`` credentials at all is a deployment that does not
    use these checks: success, said so. Credentials that are incomplete,
    refused, or a Placement that does not answer is a warning: the check
    was meant to run, and an exit 0 would pass an upgrade gate that
    checked nothing.
    """
    if isinstance(exc, placement.PlacementNotConfiguredError):
        return upgradecheck.Result(
            upgradecheck.Code.SUCCESS, "Not checked: %s" % exc)
    return upgradecheck.Result(
        upgradecheck.Code.WARNING,
        "Could not check: %s. Fix [placement] and run the check again."
        % str(exc).rstrip("."))


def capability_flavors(ctxt: Any) -> list[Any]:
    """Flavors (API database) with a mode-sensitive ``capabilities:`` spec.

    Mode-sensitive: ``<in>``, ``<all-in>`` or ``<or>``, whose reading
    depends on ``[hwabi_scheduler] capabilities_operators``.
    """
    from nova import objects

    objects.register_all()
    flavors = objects.FlavorList.get_all(ctxt, inactive=True)
    return [flavor for flavor in flavors
            if any(_mode_sensitive(key, value)
                   for key, value in flavor.extra_specs.items())]


def _mode_sensitive(key: str, value: str) -> bool:
    scope = key.split(":")
    if len(scope) > 1 and scope[0] != "capabilities":
        return False
    words = str(value).split()
    return bool(words) and words[0] in ("<in>", "<all-in>", "<or>")


def compute_host_states(ctxt: Any) -> list[Any]:
    """A Nova HostState for every compute node of every cell.

    Built as the scheduler builds them (``HostState.update`` from the
    ``ComputeNode`` record, cpu_info as its JSON string). Raises
    ``records.CellDatabaseError`` when a cell's database cannot be read.
    """
    from nova import context as nova_context
    from nova import objects
    from nova.scheduler import host_manager

    objects.register_all()
    states = []
    for cell in objects.CellMappingList.get_all(ctxt):
        if cell.is_cell0():
            continue
        with records.reading_cell(cell), \
                nova_context.target_cell(ctxt, cell) as cctxt:
            nodes = objects.ComputeNodeList.get_all(cctxt)
        for node in nodes:
            state = host_manager.HostState(node.host,
                                           node.hypervisor_hostname,
                                           cell.uuid)
            state.update(compute=node)
            states.append(state)
    return states


def register_cli_options(conf: cfg.ConfigOpts, checks: Checks) -> None:
    """``upgrade check [--json] [--verbose]``.

    oslo.upgradecheck's own registration (2.x) offers ``--json`` only;
    this one adds ``--verbose`` and otherwise behaves the same.
    """
    def add_parsers(
        subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    ) -> None:
        upgrade = subparsers.add_parser(
            "upgrade", epilog=cli.exit_codes_epilog(UpgradeCheckExit),
            formatter_class=cli.HELP_FORMATTER)
        upgrade.add_argument("check")
        upgrade.set_defaults(action_fn=checks.check,
                             exit_codes=UpgradeCheckExit)
        upgrade.add_argument(
            "--json", action="store_true",
            help="Output the results in JSON format. Default is to print "
            "results in human readable table format.")
        upgrade.add_argument(
            "--verbose", action="store_true",
            help="Name every instance a warning counts (UUIDs), not only "
            "how many.")

    conf.register_cli_opt(cfg.SubCommandOpt("command", handler=add_parsers))


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``nova-hwabi-status``.

    Exit codes: :class:`UpgradeCheckExit`. 78 means no check could run
    because the configuration is unusable (a missing or wrong
    ``[api_database] connection``, a wrong option value, an unreadable
    config file): one line on stderr names the option and the file.
    """
    def register(conf: cfg.ConfigOpts) -> None:
        from nova import context as nova_context

        register_cli_options(
            conf, Checks(conf, nova_context.get_admin_context))

    return nova_setup.run("nova-hwabi-status", argv, register, _run_checks)


def _run_checks(conf: cfg.ConfigOpts) -> int:
    # oslo.upgradecheck reads --json from its module-level CONF, which only
    # its own main() sets; we parse through Nova's config instead.
    upgradecheck.CONF = conf
    return upgradecheck.run(conf)


if __name__ == "__main__":
    sys.exit(main())
