"""The demo's second act: the ABI half, machine types across a new default.

1. Nova's databases (API, cell0, cell1 on sqlite, created as nova-manage
   does: :mod:`nova_hwabi.testing.cells`) and a few instances on the sample
   host ``compute-x86-debian12``, each with a guest domain from the sample
   domain XML shipped with the demo (captured from libvirt 9.0 / QEMU 7.2);
   nova-hwabi's recorder records what two of them lack, as nova-compute
   does at start-up, into Nova's system metadata.
2. ``[libvirt] hw_machine_type`` changes from ``x86_64=pc`` to
   ``x86_64=q35``: for each guest, the machine type its next definition
   (hard reboot, move) gets, from what is recorded
   (:func:`hooks.properties_for_redefinition`) or else the new default
   (:func:`defaults.default_machine_type`), resolved on the host.
3. The drift audit (:func:`recorder.audit_local_instances`): recorded,
   pinned, running and default machine types, and what would drift.

No libvirtd is needed: the domains are parsed from the shipped XML. Each
guest has an expected outcome; :func:`run_act` returns the guests that
ended otherwise.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from lxml import etree

from nova_hwabi.capabilities import parse_guest_domain, parse_host_capabilities
from nova_hwabi.capabilities.guest import GuestDomain
from nova_hwabi.capabilities.samples import load_sample
from nova_hwabi.machine_type import (
    defaults,
    hooks,
    names,
    recorder,
    records,
    sysmeta,
)

HOST_SAMPLE = "x86_64-kvm-debian12"
OLD_DEFAULT = ["x86_64=pc"]
NEW_DEFAULT = ["x86_64=q35"]
ARCH = "x86_64"


@dataclass(frozen=True)
class DemoGuest:
    """One instance: its guest, what Nova recorded, what to expect."""

    name: str
    story: str
    domain_file: str
    running: str | None = None        # the domain's machine, if changed
    nova_record: dict[str, str] = field(default_factory=dict)
    recorded_by_hwabi: bool = True
    expected_next: str = ""            # versioned type after the change
    expected_drift: tuple[str, ...] = ()  # () means no drift


GUESTS = (
    DemoGuest("web-pc", "i440fx guest booted under the old default pc",
              "pc-passthrough.xml", expected_next="pc-i440fx-7.2"),
    DemoGuest("db-q35", "q35 guest from an image with hw_machine_type=q35",
              "q35-emulate46.xml", nova_record={
                  "image_hw_machine_type": "q35"},
              expected_next="pc-q35-7.2"),
    DemoGuest("old-q35", "started on pc-q35-6.2 before QEMU 7.2; Nova "
              "recorded only the alias q35", "q35-plain.xml",
              running="pc-q35-6.2",
              nova_record={"image_hw_machine_type": "q35"},
              recorded_by_hwabi=False, expected_next="pc-q35-7.2",
              expected_drift=("means pc-q35-7.2 on this host but the guest "
                              "runs pc-q35-6.2",)),
    DemoGuest("legacy-pc", "i440fx guest nothing has recorded yet",
              "pc-passthrough.xml", recorded_by_hwabi=False,
              expected_next="pc-q35-7.2",
              expected_drift=("no machine type recorded",)),
)


def _instance_uuid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "nova-hwabi-demo/" + name))


def sample_domain(guest: DemoGuest) -> GuestDomain:
    """The guest's domain: the shipped XML with its UUID (and machine)."""
    # One name per joinpath: Traversable.joinpath takes a single child
    # before Python 3.11, and the package supports 3.10.
    document = resources.files("nova_hwabi.demo").joinpath(
        "domains").joinpath(guest.domain_file).read_bytes()
    root = etree.fromstring(document)
    _element(root, "uuid", guest).text = _instance_uuid(guest.name)
    _element(root, "name", guest).text = guest.name
    if guest.running:
        _element(root, "os/type", guest).set("machine", guest.running)
    return parse_guest_domain(etree.tostring(root))


def _element(root: etree._Element, path: str,
             guest: DemoGuest) -> etree._Element:
    """The shipped domain's element at ``path``; every shipped one has it."""
    element = root.find(path)
    if element is None:
        raise ValueError("demo domain %s has no <%s>"
                         % (guest.domain_file, path))
    return element


@dataclass
class ActResult:
    """What the act found: one line per unexpected outcome."""

    failures: list[str] = field(default_factory=list)


class AbiAct:
    """The second act's steps, printing through ``say``."""

    def __init__(self, say: Callable[[str], None], cells: dict[str, str],
                 ctxt: Any) -> None:
        import nova.conf

        self.say = say
        self.cells = cells
        self.ctxt = ctxt
        self.conf = nova.conf.CONF
        self.capabilities = parse_host_capabilities(
            load_sample(HOST_SAMPLE).capabilities_xml)
        self.domains = {guest.name: sample_domain(guest)
                        for guest in GUESTS}

    def _host(self, names: Iterable[str]) -> recorder.LocalHost:
        return recorder.LocalHost(
            self.capabilities, tuple(self.domains[n] for n in names))

    def _resolve(self, machine_type: str | None) -> str | None:
        if not machine_type:
            return None
        if not names.parse_machine_type(machine_type).is_alias:
            return machine_type
        resolved: str | None = self._host(()).resolve("kvm", ARCH)(
            machine_type)
        return resolved

    # --- step 1 ---------------------------------------------------------
    def create_instances(self) -> None:
        """Nova's databases, the instances, and nova-hwabi's records."""
        from nova import context as nova_context
        from nova import objects

        started = time.monotonic()
        self.conf.set_override("hw_machine_type", OLD_DEFAULT,
                               group="libvirt")
        cell = objects.CellMapping.get_by_uuid(self.ctxt, self.cells["cell1"])
        host = load_sample(HOST_SAMPLE).hypervisor_hostname
        with nova_context.target_cell(self.ctxt, cell) as cctxt:
            node = objects.ComputeNode(
                context=cctxt, host=host, hypervisor_hostname=host,
                hypervisor_type="QEMU", hypervisor_version=7002000,
                vcpus=8, memory_mb=32768, local_gb=500, vcpus_used=0,
                memory_mb_used=0, local_gb_used=0,
                cpu_info=json.dumps(self.capabilities.to_cpu_info()),
                uuid=str(uuid.uuid5(uuid.NAMESPACE_URL, host)))
            node.create()
        for guest in GUESTS:
            instance_uuid = _instance_uuid(guest.name)
            with nova_context.target_cell(self.ctxt, cell) as cctxt:
                objects.Instance(
                    context=cctxt, uuid=instance_uuid, vm_state="active",
                    host=host, node=host, compute_id=node.id,
                    display_name=guest.name,
                    project_id="demo", user_id="demo",
                    system_metadata=dict(guest.nova_record),
                ).create()
            objects.InstanceMapping(
                context=self.ctxt, instance_uuid=instance_uuid,
                cell_mapping=cell, project_id="demo").create()
        self.say("[1/3] %d instances on %s in Nova's databases (API, cell0, "
                 "cell1 on sqlite, as nova-manage creates them), the "
                 "running guests from sample domain XML (%.1f s)" % (
                     len(GUESTS), host, time.monotonic() - started))
        self.say("      [libvirt] hw_machine_type = %s" %
                 ",".join(OLD_DEFAULT))
        to_record = [g.name for g in GUESTS if g.recorded_by_hwabi]
        recorded = {
            item.uuid: item.change for item in recorder.record_local_instances(
                self.ctxt, self._host(to_record), self.conf)
        }
        for guest in GUESTS:
            domain = self.domains[guest.name]
            self.say("      %-10s runs %-14s %s" % (
                guest.name, domain.machine, guest.story))
            change = recorded.get(domain.uuid)
            if change is None:
                record = ", ".join("%s=%s" % item for item in
                                   sorted(guest.nova_record.items()))
                self.say("      %-10s not recorded by nova-hwabi; Nova's "
                         "own record: %s" % ("", record or "nothing"))
            else:
                self.say("      %-10s nova-hwabi recorded: %s" % (
                    "", _describe(change)))

    # --- step 2 ---------------------------------------------------------
    def change_default(self, result: ActResult) -> None:
        """The operator changes the default; what each guest keeps."""
        self.conf.set_override("hw_machine_type", NEW_DEFAULT,
                               group="libvirt")
        self.say("[2/3] [libvirt] hw_machine_type changed: %s -> %s; what "
                 "each guest's next definition (hard reboot, move) gets" % (
                     ",".join(OLD_DEFAULT), ",".join(NEW_DEFAULT)))
        self.say("      %-10s %-14s %-14s %-40s %s" % (
            "instance", "runs", "next", "because", "verdict"))
        for guest in GUESTS:
            domain = self.domains[guest.name]
            record = records.load_record(self.ctxt, domain.uuid, ARCH)
            merged = hooks.properties_for_redefinition(record, {})
            if merged.get("hw_machine_type"):
                chosen = merged["hw_machine_type"]
                why = ("pinned by nova-hwabi" if record.system_metadata.get(
                    sysmeta.PINNED_KEY) else "Nova's record %s" % chosen)
            else:
                chosen = defaults.default_machine_type(ARCH, self.conf)
                why = "nothing recorded: the new default %s" % chosen
            following = self._resolve(chosen)
            verdict = _verdict(domain.machine, following)
            expected = following == guest.expected_next
            if not expected:
                result.failures.append("%s: next definition gets %s, "
                                       "expected %s" % (
                                           guest.name, following,
                                           guest.expected_next))
            self.say("      %-10s %-14s %-14s %-40s %s (%s)" % (
                guest.name, domain.machine, following, why, verdict,
                "as expected" if expected else "UNEXPECTED"))

    # --- step 3 ---------------------------------------------------------
    def audit(self, result: ActResult) -> None:
        """nova-hwabi's drift audit over every guest on the host."""
        self.say("[3/3] Drift audit (nova-hwabi-manage machine-type audit): "
                 "recorded / pinned / running / default")
        audits = {audit.uuid: audit for audit in
                  recorder.audit_local_instances(
                      self.ctxt, self._host(self.domains), self.conf)}
        for guest in GUESTS:
            audit = audits.get(self.domains[guest.name].uuid)
            if audit is None:
                result.failures.append("%s: not audited" % guest.name)
                self.say("      %-10s not audited UNEXPECTED" % guest.name)
                continue
            self.say("      %-10s %s / %s / %s / %s" % (
                guest.name, audit.recorded or "-", audit.pinned or "-",
                audit.running or "-", audit.default or "-"))
            as_expected = _drift_as_expected(audit.drift,
                                             guest.expected_drift)
            verdict = "as expected" if as_expected else "UNEXPECTED"
            for finding in audit.drift:
                self.say("        drift: %s (%s)" % (finding, verdict))
            if not audit.drift:
                self.say("        no drift (%s)" % verdict)
            if not as_expected:
                result.failures.append("%s: audit found %s, expected %s" % (
                    guest.name, audit.drift or "no drift",
                    list(guest.expected_drift) or "no drift"))


def _describe(change: hooks.RecordChange) -> str:
    keys = (sysmeta.RECORDED_KEY, sysmeta.PINNED_KEY)
    machine = ", ".join("%s=%s" % (key, change.set[key])
                        for key in keys if key in change.set)
    devices = sorted("%s=%s" % (key[len(sysmeta.IMAGE_PREFIX):], value)
                     for key, value in change.set.items()
                     if key not in keys)
    return "; ".join(part for part in (machine, ", ".join(devices)) if part)


def _verdict(running: str | None, following: str | None) -> str:
    if running == following:
        return "keeps its chipset"
    old = names.parse_machine_type(running).family if running else None
    new = names.parse_machine_type(following).family if following else None
    if old != new:
        return "CHANGES chipset %s -> %s" % (old, new)
    return "CHANGES version %s -> %s" % (running, following)


def _drift_as_expected(found: list[str], expected: tuple[str, ...]) -> bool:
    if not expected:
        return not found
    return len(found) == len(expected) and all(
        any(needle in finding for finding in found) for needle in expected)


def run_act(say: Callable[[str], None], cells: dict[str, str],
            ctxt: Any) -> list[str]:
    """Run the act; the guests that ended otherwise than expected.

    ``cells`` is what :meth:`NovaDatabases.create` returned for the
    databases whose ``nova.conf`` Nova's configuration was parsed from
    (:func:`nova_hwabi.testing.cells.setup_nova`, which gave ``ctxt``).
    """
    result = ActResult()
    act = AbiAct(say, cells, ctxt)
    act.create_instances()
    act.change_default(result)
    act.audit(result)
    return result.failures
