"""``nova-hwabi-status upgrade check``: is it safe to change machine types?

Checks, with oslo.upgradecheck's codes (0 success, 1 warning, 2 failure):

- instances on libvirt hosts (or on none) that have no recorded machine
  type: until each has one, changing ``[libvirt] hw_machine_type`` changes
  their chipset at their next hard reboot or move;
- ``[libvirt] hw_machine_type`` itself: a malformed entry fails loudly
  instead of being ignored;
- versioned machine types instances are pinned to that no compute host
  offers (from the CUSTOM_HWABI_MACHINE_* traits hosts report to
  Placement with ``[hwabi_capabilities] report_machine_type_traits``):
  such instances cannot start after a move. Not checked, and said so,
  when no host reports those traits or Placement cannot be asked.
"""

from __future__ import annotations

import sys

from oslo_upgradecheck import upgradecheck

from nova_hwabi import traits
from nova_hwabi.capabilities import placement
from nova_hwabi.cmd import nova_setup
from nova_hwabi.machine_type import records, rules

# How many unrecorded instances to name in the check's details.
_EXAMPLES = 5


class Checks(upgradecheck.UpgradeCommands):
    """nova-hwabi's upgrade checks."""

    def __init__(self, conf, context_factory) -> None:
        self._conf = conf
        self._context = context_factory

    def _check_unset_machine_types(self) -> upgradecheck.Result:
        missing = records.list_unset(self._context())
        if not missing:
            return upgradecheck.Result(upgradecheck.Code.SUCCESS)
        named = ", ".join(item.uuid for item in missing[:_EXAMPLES])
        return upgradecheck.Result(
            upgradecheck.Code.WARNING,
            "%d instance(s) have no recorded machine type (%s%s). Record "
            "them (nova-hwabi-manage machine-type list-unset / update, or "
            "start nova-compute) before changing [libvirt] "
            "hw_machine_type." % (len(missing), named,
                                  ", ..." if len(missing) > _EXAMPLES
                                  else ""),
        )

    def _check_default_config(self) -> upgradecheck.Result:
        try:
            for arch in sorted(rules.configured_arches(self._conf)):
                rules.default_machine_type(arch, self._conf)
        except rules.InvalidMachineTypeConfig as exc:
            return upgradecheck.Result(upgradecheck.Code.FAILURE, str(exc))
        return upgradecheck.Result(upgradecheck.Code.SUCCESS)

    def _check_offered_machine_types(self) -> upgradecheck.Result:
        pinned = records.pinned_machine_types(self._context())
        if not pinned:
            return upgradecheck.Result(upgradecheck.Code.SUCCESS)
        try:
            client = placement.PlacementClient.from_conf(self._conf)
            reported = client.existing_traits(traits.MACHINE_TRAIT_PREFIX)
            if not reported:
                return upgradecheck.Result(
                    upgradecheck.Code.SUCCESS,
                    "Not checked: no compute host reports machine-type "
                    "traits ([hwabi_capabilities] report_machine_type_traits"
                    " with nova-hwabi-report --sync).")
            missing = self._missing(client, pinned, reported)
        except placement.PlacementError as exc:
            return upgradecheck.Result(
                upgradecheck.Code.SUCCESS, "Not checked: %s" % exc)
        if not missing:
            return upgradecheck.Result(upgradecheck.Code.SUCCESS)
        return upgradecheck.Result(
            upgradecheck.Code.WARNING,
            "No compute host offers %s: those instances cannot start after "
            "a move. Keep a host with that QEMU, or update their machine "
            "type (nova-hwabi-manage machine-type update) while stopped."
            % "; ".join("%s for %s (%d instance(s))" % (mt, arch, count)
                        for (arch, mt), count in sorted(missing.items())))

    def _missing(self, client, pinned, reported):
        default_arch = self._conf.hwabi_scheduler.default_guest_arch
        missing = {}
        for (arch, machine_type), count in pinned.items():
            arch = arch or default_arch
            trait = traits.machine_type_trait(arch, machine_type)
            if trait not in reported or not client.providers_with_trait(
                    trait):
                missing[(arch, machine_type)] = count
        return missing

    _upgrade_checks = (
        ("Recorded machine types", _check_unset_machine_types),
        ("[libvirt] hw_machine_type", _check_default_config),
        ("Pinned machine types offered", _check_offered_machine_types),
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``nova-hwabi-status``."""
    nova_setup.nova_conf()  # first: Nova chooses its concurrency backend
    from nova import context as nova_context

    conf = nova_setup.start(
        "nova-hwabi-status", argv,
        lambda conf: upgradecheck.register_cli_options(
            conf, Checks(conf, nova_context.get_admin_context)),
    )
    # oslo.upgradecheck reads --json from its module-level CONF, which only
    # its own main() sets; we parse through Nova's config instead.
    upgradecheck.CONF = conf
    return upgradecheck.run(conf)


if __name__ == "__main__":
    sys.exit(main())
