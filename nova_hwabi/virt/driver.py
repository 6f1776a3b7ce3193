"""Nova's libvirt driver, with nova-hwabi recording, pinning and reporting.

:class:`HwabiLibvirtDriver` is Nova's ``LibvirtDriver`` (every series
:mod:`nova_hwabi.compat` supports) with these differences, each a thin
override over the pure helpers in :mod:`nova_hwabi.virt.decisions` and
:mod:`nova_hwabi.machine_type.hooks`:

- start-up: records for every local instance what ``nova-hwabi-manage
  machine-type record`` records (Nova's ``image_*`` keys, the versioned pin
  ``hwabi_machine_type``, device buses/models), one save per changed
  instance, merged with Nova's own;
- spawn pins the versioned machine type and the devices the new domain got;
  a rebuild forgets the machine type first (an evacuation does not);
- every guest definition (spawn of an existing instance, hard reboot, cold
  migration/resize, evacuation, unshelve, rescue) takes the recorded ABI
  properties over the image it was handed and over ``[libvirt]
  hw_machine_type``; a host whose QEMU lacks the recorded type refuses
  before touching the guest;
- ``<maxphysaddr>`` is rendered from the typed request
  (:mod:`nova_hwabi.address_space`), and each definition
  of the guest on a host records the address width it runs with
  (:mod:`nova_hwabi.address_width`), which the scheduler keeps on moves;
- the address-space capabilities and the opt-in custom traits are what
  :func:`nova_hwabi.capabilities.host_traits` decides.

Stock nova-compute loads it as ``compute_driver = hwabi.HwabiLibvirtDriver``
through the ``nova.virt.hwabi`` shim this distribution installs.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable
from typing import Any

import nova.conf
from nova import context as nova_context
from nova import exception, objects
from nova.virt.libvirt import blockinfo
from nova.virt.libvirt import config as vconfig
from nova.virt.libvirt import driver as libvirt_driver
from oslo_log import log as logging

from nova_hwabi import address_space, compat
from nova_hwabi import conf as hwabi_conf
from nova_hwabi.capabilities import (
    LibvirtVersion,
    TraitPolicy,
    host_traits,
    parse_guest_domain,
    parse_host_capabilities,
)
from nova_hwabi.capabilities.guest import GuestDomain
from nova_hwabi.capabilities.model import HostCapabilities
from nova_hwabi.capabilities.reported_traits import HostTraits
from nova_hwabi.conf import libvirt as libvirt_opts
from nova_hwabi.machine_type import hooks
from nova_hwabi.machine_type.recorder import LocalHost
from nova_hwabi.machine_type.sysmeta import IMAGE_PREFIX
from nova_hwabi.placement import merge_owned_traits
from nova_hwabi.traits import is_owned_custom
from nova_hwabi.virt import decisions

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF
hwabi_conf.register_opts(CONF)


# Nova is untyped: its classes are Any to mypy, and strict mode refuses to
# subclass Any. Subclassing Nova's is the point of this module.
class PinnedMachineTypeUnavailable(exception.Invalid):  # type: ignore[misc]
    """This host's QEMU lacks the machine type recorded for an instance."""

    msg_fmt = "%(reason)s"


class HwabiLibvirtDriver(libvirt_driver.LibvirtDriver):  # type: ignore[misc]
    """Nova's libvirt driver that keeps each guest's hardware ABI."""

    _hwabi_caps: HostCapabilities | None = None

    # -- what this host offers, read once --------------------------------

    def _hwabi_host_capabilities(self) -> HostCapabilities:
        """This host's parsed libvirt capabilities.

        Read once per service start, as Nova's own Host caches them: a
        QEMU upgrade is seen after nova-compute restarts.
        """
        if self._hwabi_caps is None:
            document = self._host.get_connection().getCapabilities()
            self._hwabi_caps = parse_host_capabilities(
                document, max_bytes=CONF.hwabi_capabilities.max_xml_bytes)
        return self._hwabi_caps

    def _hwabi_libvirt_version(self) -> LibvirtVersion:
        return LibvirtVersion.from_int(
            self._host.get_connection().getLibVersion())

    def _hwabi_host_traits(self) -> HostTraits:
        return host_traits(self._hwabi_host_capabilities(),
                           self._hwabi_libvirt_version(),
                           TraitPolicy.from_conf(CONF))

    def _hwabi_local_host(self) -> LocalHost:
        return LocalHost(self._hwabi_host_capabilities(), ())

    # -- capabilities and traits -----------------------------------------

    def _update_host_specific_capabilities(self) -> None:
        super()._update_host_specific_capabilities()
        try:
            decided = self._hwabi_host_traits()
        except Exception as exc:  # start-up must go on with Nova's view
            LOG.warning("nova-hwabi could not decide the address-space "
                        "capabilities of this host, keeping Nova's: %s", exc)
            return
        self.capabilities.update(
            decisions.address_space_capabilities(decided))
        for decision in decided.decisions:
            LOG.debug("nova-hwabi trait %s: %s (%s)", decision.trait,
                      "reported" if decision.reported else "not reported",
                      decision.reason)

    def update_provider_tree(self, provider_tree: Any, nodename: str,
                             allocations: Any = None) -> None:
        super().update_provider_tree(provider_tree, nodename,
                                     allocations=allocations)
        try:
            desired = decisions.custom_traits(self._hwabi_host_traits())
            current = provider_tree.data(nodename).traits
            wanted = merge_owned_traits(current, desired,
                                        owned=is_owned_custom)
            if wanted != set(current):
                provider_tree.update_traits(nodename, wanted)
        except Exception as exc:  # the periodic task must go on
            LOG.warning("nova-hwabi custom traits of %s not updated: %s",
                        nodename, exc)

    # -- start-up ----------------------------------------------------------

    def process_instances_at_startup(self, context: Any,
                                     instances: Any) -> Any:
        # Ours first, in memory: Nova then skips what we recorded from the
        # running domain, and its one save per instance writes both; we
        # save only the instances Nova will not.
        changed = self._hwabi_record_at_startup(instances)
        nova_saves = {uuid for uuid, instance in changed.items()
                      if decisions.nova_registers(instance.system_metadata)}
        result = super().process_instances_at_startup(context, instances)
        self._hwabi_save(changed[uuid] for uuid in changed
                         if uuid not in nova_saves)
        return result

    def _register_all_undefined_instance_details(self, *args: Any,
                                                 **kwargs: Any) -> None:
        if compat.startup_seam() == compat.SEAM_PROCESS_INSTANCES_AT_STARTUP:
            context, instances = self._hwabi_seam_arguments(*args, **kwargs)
            # Nova returns at once for an instance with all its defaults;
            # handing it only the others gives the same result for less.
            super()._register_all_undefined_instance_details(
                context, self._hwabi_nova_pending(instances))
            return
        # From init_host: ours first and saved, so that Nova's registration,
        # which loads the host's instances itself, finds the running
        # domain's type recorded and keeps it, as at the other seam.
        context = nova_context.get_admin_context()
        instances = objects.InstanceList.get_by_host(
            context, self._host.get_hostname(),
            expected_attrs=["flavor", "system_metadata"])
        changed = self._hwabi_record_at_startup(instances)
        self._hwabi_save(changed.values())
        super()._register_all_undefined_instance_details(*args, **kwargs)

    @staticmethod
    def _hwabi_seam_arguments(context: Any,
                              instances: Any) -> tuple[Any, Any]:
        return context, instances

    @staticmethod
    def _hwabi_nova_pending(instances: Iterable[Any]) -> list[Any]:
        """The instances Nova's registration has something to do for."""
        pending = []
        for instance in instances:
            try:
                complete = not decisions.nova_registers(
                    instance.system_metadata)
            except Exception:  # Nova meets it again and logs it
                complete = False
            if not complete:
                pending.append(instance)
        return pending

    def _find_default_for_image_property(self, instance: Any,
                                         image_property: str,
                                         *args: Any, **kwargs: Any) -> Any:
        if image_property == "hw_input_bus":
            # Nova takes the bus of its default USB tablet for the input bus;
            # recorded, hw_input_bus=usb makes Nova add a USB keyboard at the
            # guest's next definition. An instance whose image set no
            # hw_input_bus has none to keep: None is recorded, which Nova
            # reads as unset and does not register again.
            return None
        return super()._find_default_for_image_property(
            instance, image_property, *args, **kwargs)

    def _hwabi_local_domains(
        self, wanted: Iterable[str] | dict[str, Any],
    ) -> dict[str, GuestDomain]:
        """{uuid: GuestDomain} of this host's domains whose UUID is wanted.

        One listing, then the XML of the wanted domains only.
        """
        domains: dict[str, GuestDomain] = {}
        for guest in self._host.list_guests(only_running=False):
            if guest.uuid not in wanted:
                continue
            try:
                domain = parse_guest_domain(
                    guest.get_xml_desc(),
                    max_bytes=CONF.hwabi_capabilities.max_xml_bytes)
            except Exception as exc:
                LOG.warning("Instance %s: domain XML not usable for "
                            "recording: %s", guest.uuid, exc)
                continue
            domains[domain.uuid] = domain
        return domains

    def _hwabi_record_at_startup(self, instances: Any) -> dict[str, Any]:
        """Apply the start-up changes in memory; {uuid: changed instance}.

        Nothing is saved here.
        """
        pending: dict[str, Any] = {}
        for instance in instances:
            try:
                if not instance.deleted and \
                        decisions.needs_startup_recording(
                            instance.system_metadata):
                    pending[instance.uuid] = instance
            except Exception as exc:
                LOG.warning("Instance %s: nothing recorded at start-up: %s",
                            instance.uuid, exc)
        if not pending:
            return {}
        try:
            local = self._hwabi_local_host()
            domains = self._hwabi_local_domains(pending)
        except Exception as exc:
            LOG.warning("nova-hwabi start-up recording skipped: cannot read "
                        "this host's libvirt state: %s", exc)
            return {}
        host_arch = local.capabilities.cpu.arch
        items = [
            (uuid, functools.partial(self._hwabi_record, instance,
                                     domains.get(uuid), host_arch),
             domains.get(uuid))
            for uuid, instance in pending.items()
        ]

        def resolve(
            domain: GuestDomain | None,
        ) -> Callable[[str], str | None]:
            arch = (domain.arch if domain is not None else None) or host_arch
            domain_type = (domain.domain_type if domain is not None
                           else CONF.libvirt.virt_type)
            resolver: Callable[[str], str | None] = local.resolve(
                domain_type, arch)
            return resolver

        def warn(uuid: str, reason: str) -> None:
            LOG.warning("Instance %s: nothing recorded at start-up: %s",
                        uuid, reason)

        changes, summary = decisions.record_at_startup(
            items, CONF, resolve, warn)
        changed: dict[str, Any] = {}
        for uuid, change in changes.items():
            if decisions.apply_change(pending[uuid].system_metadata, change):
                changed[uuid] = pending[uuid]
            LOG.debug("Instance %s: %s", uuid, change.describe())
        for uuid in set(pending) & set(domains):
            if self._hwabi_cdrom_bus(pending[uuid]):
                changed[uuid] = pending[uuid]
        LOG.info("nova-hwabi start-up recording: %s (%d complete already)",
                 summary.describe(), len(instances) - len(pending))
        return changed

    @staticmethod
    def _hwabi_cdrom_bus(instance: Any) -> bool:
        """Record Nova's own cdrom bus default, without Nova's BDM query.

        Nova's registration reads the instance's block device mappings
        (one database query per instance) only to call the same function
        for hw_cdrom_bus; once the disk bus is recorded from the domain,
        recording the cdrom bus here spares that query. True if set.
        """
        key = IMAGE_PREFIX + "hw_cdrom_bus"
        if key in instance.system_metadata:
            return False
        try:
            bus = blockinfo.get_disk_bus_for_device_type(
                instance, CONF.libvirt.virt_type, instance.image_meta,
                "cdrom")
        except Exception as exc:
            LOG.debug("Instance %s: cdrom bus left to Nova: %s",
                      instance.uuid, exc)
            return False
        if not bus:
            return False
        instance.system_metadata[key] = bus
        return True

    def _hwabi_save(self, instances: Iterable[Any]) -> None:
        for instance in instances:
            try:
                instance.save()
            except Exception as exc:
                LOG.warning("Instance %s: recorded values not saved: %s",
                            instance.uuid, exc)

    @staticmethod
    def _hwabi_record(instance: Any, domain: GuestDomain | None,
                      host_arch: str | None) -> hooks.InstanceRecord:
        metadata = instance.system_metadata
        arch = ((domain.arch if domain is not None else None)
                or metadata.get("image_hw_architecture") or host_arch)
        return hooks.InstanceRecord(
            uuid=instance.uuid, vm_state=instance.vm_state, arch=arch,
            system_metadata=dict(metadata))

    # -- spawn and rebuild -------------------------------------------------

    def spawn(self, context: Any, instance: Any, image_meta: Any,
              *args: Any, **kwargs: Any) -> None:
        self._hwabi_check_machine_type(instance)
        super().spawn(context, instance, image_meta, *args, **kwargs)
        self._hwabi_pin_after_spawn(instance)
        self._hwabi_record_width(instance)

    def _hwabi_record_width(self, instance: Any) -> None:
        """Record the address width the guest runs with on this host.

        Called each time the guest is defined here (spawn, which also
        serves evacuation, unshelve and rebuild; hard reboot and power-on;
        the end of a cold or live migration and of a resize revert), so
        the record says the width the guest runs with and the scheduler
        keeps its moves on hosts of that width
        (:mod:`nova_hwabi.address_width`). The compute manager saves the
        instance afterwards.
        """
        try:
            domain = parse_guest_domain(
                self._host.get_guest(instance).get_xml_desc(),
                max_bytes=CONF.hwabi_capabilities.max_xml_bytes)
            maxphysaddr = self._hwabi_host_capabilities().cpu.maxphysaddr
            record = self._hwabi_record(instance, domain, None)
            change = hooks.width_at_definition(
                record, domain,
                maxphysaddr.bits if maxphysaddr is not None else None)
        except Exception as exc:  # the guest runs: never fail the operation
            LOG.warning("Instance %s: address width not recorded: %s",
                        instance.uuid, exc)
            return
        if decisions.apply_change(instance.system_metadata, change):
            LOG.info("Instance %s address width recorded: %s",
                     instance.uuid, change.describe())

    def _hwabi_pin_after_spawn(self, instance: Any) -> None:
        """Pin what the new domain got; the compute manager saves it."""
        try:
            domain = parse_guest_domain(
                self._host.get_guest(instance).get_xml_desc(),
                max_bytes=CONF.hwabi_capabilities.max_xml_bytes)
            domain = self._hwabi_canonical(domain)
            record = self._hwabi_record(
                instance, domain, self._hwabi_host_capabilities().cpu.arch)
            change = hooks.at_spawn(record, domain, CONF)
        except Exception as exc:  # the guest runs: never fail the boot
            LOG.warning("Instance %s: nothing pinned after spawn: %s",
                        instance.uuid, exc)
            return
        if decisions.apply_change(instance.system_metadata, change):
            LOG.info("Instance %s pinned at spawn: %s", instance.uuid,
                     change.describe())

    def _hwabi_canonical(self, domain: GuestDomain) -> GuestDomain:
        """The domain with its machine alias replaced by the versioned type.

        Real libvirt already writes the versioned type into a new domain;
        this only matters where it does not (e.g. a test connection).
        """
        if not domain.machine:
            return domain
        resolve = self._hwabi_local_host().resolve(
            domain.domain_type, domain.arch or "")
        canonical = resolve(domain.machine)
        if canonical and canonical != domain.machine:
            return dataclasses.replace(domain, machine=canonical)
        return domain

    def rebuild(self, context: Any, instance: Any, image_meta: Any,
                *args: Any, **kwargs: Any) -> Any:
        """Forget the machine type unless evacuating, then rebuild as Nova.

        Nova's libvirt driver has no rebuild of its own: the inherited one
        raises NotImplementedError and the compute manager then runs its
        default rebuild (destroy, spawn), whose spawn pins afresh.
        """
        evacuate = kwargs.get("evacuate", False)
        if decisions.rebuild_forgets_machine_type(evacuate):
            record = self._hwabi_record(instance, None, None)
            change = hooks.at_rebuild(record)
            if decisions.apply_change(instance.system_metadata, change):
                LOG.info("Instance %s rebuilt: %s", instance.uuid,
                         change.describe())
        return super().rebuild(context, instance, image_meta, *args,
                               **kwargs)

    # -- guest definitions from the record ---------------------------------

    def _get_guest_config(self, instance: Any, network_info: Any,
                          image_meta: Any, disk_info: Any,
                          *args: Any, **kwargs: Any) -> Any:
        image_meta = self._hwabi_recorded_image_meta(instance, image_meta)
        return super()._get_guest_config(instance, network_info, image_meta,
                                         disk_info, *args, **kwargs)

    def _hwabi_recorded_image_meta(self, instance: Any,
                                   image_meta: Any) -> Any:
        """``image_meta`` with the recorded ABI properties put in."""
        properties = image_meta.properties
        current = {name: getattr(properties, name)
                   for name in decisions.ABI_PROPERTIES
                   if properties.obj_attr_is_set(name)}
        overrides = decisions.redefinition_overrides(
            dict(instance.system_metadata), current)
        if not overrides:
            return image_meta
        image_meta = image_meta.obj_clone()
        for name, value in overrides.items():
            try:
                setattr(image_meta.properties, name, value)
            except (ValueError, TypeError) as exc:
                LOG.warning("Instance %s: recorded %s=%s not usable, Nova "
                            "chooses it: %s", instance.uuid, name, value, exc)
        LOG.debug("Instance %s defined from its record: %s", instance.uuid,
                  overrides)
        return image_meta

    def _hwabi_missing_machine_type(self, instance: Any) -> str | None:
        caps = self._hwabi_host_capabilities()
        metadata = instance.system_metadata
        arch = metadata.get("image_hw_architecture") or caps.cpu.arch
        return decisions.missing_machine_type(
            metadata, caps, arch, CONF.libvirt.virt_type,
            self._host.get_hostname())

    def _hwabi_check_machine_type(self, instance: Any) -> None:
        reason = self._hwabi_missing_machine_type(instance)
        if reason:
            raise PinnedMachineTypeUnavailable(reason=reason)

    def _hard_reboot(self, context: Any, instance: Any,
                     *args: Any, **kwargs: Any) -> Any:
        # Hard reboot, power-on and resume at host boot all come here.
        self._hwabi_check_machine_type(instance)
        result = super()._hard_reboot(context, instance, *args, **kwargs)
        self._hwabi_record_width(instance)
        return result

    def finish_migration(self, context: Any, migration: Any, instance: Any,
                         *args: Any, **kwargs: Any) -> Any:
        self._hwabi_check_machine_type(instance)
        result = super().finish_migration(context, migration, instance,
                                          *args, **kwargs)
        self._hwabi_record_width(instance)
        return result

    def finish_revert_migration(self, context: Any, instance: Any,
                                *args: Any, **kwargs: Any) -> Any:
        result = super().finish_revert_migration(context, instance, *args,
                                                 **kwargs)
        self._hwabi_record_width(instance)
        return result

    def post_live_migration_at_destination(self, context: Any,
                                           instance: Any, *args: Any,
                                           **kwargs: Any) -> Any:
        result = super().post_live_migration_at_destination(
            context, instance, *args, **kwargs)
        self._hwabi_record_width(instance)
        return result

    def rescue(self, context: Any, instance: Any,
               *args: Any, **kwargs: Any) -> Any:
        self._hwabi_check_machine_type(instance)
        return super().rescue(context, instance, *args, **kwargs)

    def check_can_live_migrate_destination(self, context: Any,
                                           instance: Any, *args: Any,
                                           **kwargs: Any) -> Any:
        reason = self._hwabi_missing_machine_type(instance)
        if reason:
            raise exception.MigrationPreCheckError(reason=reason)
        return super().check_can_live_migrate_destination(
            context, instance, *args, **kwargs)

    def pre_live_migration(self, context: Any, instance: Any,
                           *args: Any, **kwargs: Any) -> Any:
        reason = self._hwabi_missing_machine_type(instance)
        if reason:
            raise exception.MigrationPreCheckError(reason=reason)
        return super().pre_live_migration(context, instance, *args,
                                          **kwargs)

    # -- maxphysaddr -------------------------------------------------------

    def _get_guest_cpu_config_maxphysaddr(self, flavor: Any,
                                          image_meta: Any) -> Any:
        try:
            element = address_space.translate(
                flavor.extra_specs, image_meta.properties,
                legacy_bits_only=True,
            ).guest_cpu_element(
                self._hwabi_host_capabilities(),
                self._hwabi_libvirt_version(),
                cpu_mode=libvirt_opts.effective_cpu_mode(CONF),
            )
        except address_space.AddressSpaceRequestError as exc:
            raise exception.Invalid(
                message="maxphysaddr request not usable on host %s: %s"
                % (self._host.get_hostname(), exc)) from None
        if element is None:
            return None
        maxphysaddr = vconfig.LibvirtConfigGuestCPUMaxPhysAddr()
        maxphysaddr.parse_str(element)
        return maxphysaddr
