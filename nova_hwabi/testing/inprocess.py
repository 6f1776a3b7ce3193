"""Nova's real HostManager and HostStates, in-process, without databases.

Used by the functional tests, the filter benchmark and the demo to run
Nova's own scheduler filtering on host records built from cpu_info. Only
the three start-up methods that load caches from the cell databases are
disabled; filtering itself is Nova's.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

from nova import objects
from nova.scheduler import host_manager

_UPDATED_AT = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


# Nova is untyped: its HostManager is Any to mypy, and strict mode refuses
# to subclass Any; running Nova's own scheduler code is the point here.
class DetachedHostManager(host_manager.HostManager):  # type: ignore[misc]
    """Nova's HostManager with no cell databases behind it."""

    def refresh_cells_caches(self) -> None:
        """No cells to cache: hosts are handed in by the caller."""
        self.enabled_cells: list[Any] = []
        self.cells: dict[str, Any] = {}

    def _init_aggregates(self) -> None:
        """No aggregates without an API database."""

    def _init_instance_info(self, computes_by_cell: Any = None) -> None:
        """No instances without cell databases."""


def compute_node(
    index: int,
    cpu_info: dict[str, Any] | str | None,
    *,
    arch: str = "x86_64",
    hv_type: str = "kvm",
    supported: list[tuple[str, str, str]] | None = None,
    hypervisor_version: int = 7002000,
    stats: dict[str, str] | None = None,
    name: str | None = None,
) -> objects.ComputeNode:
    """A ComputeNode record as a libvirt compute host would save it.

    ``cpu_info`` is stored as the JSON string Nova keeps in the database;
    a string is stored as given (so tests can hand in broken records).
    ``supported`` lists (arch, hv_type, vm_mode); by default one entry for
    ``arch`` and ``hv_type``. ``name`` names host and node alike.
    """
    objects.register_all()
    supported = supported or [(arch, hv_type, "hvm")]
    return objects.ComputeNode(
        id=index,
        uuid="00000000-0000-4000-8000-%012d" % index,
        host=name or "host%d" % index,
        hypervisor_hostname=name or "node%d" % index,
        host_ip="127.0.0.1",
        hypervisor_type="QEMU",
        hypervisor_version=hypervisor_version,
        cpu_info=(cpu_info if isinstance(cpu_info, str) or cpu_info is None
                  else json.dumps(cpu_info)),
        supported_hv_specs=[
            objects.HVSpec(arch=a, hv_type=h, vm_mode=m)
            for a, h, m in supported
        ],
        vcpus=64, vcpus_used=0, memory_mb=262144, free_ram_mb=262144,
        local_gb=1024, free_disk_gb=1024, local_gb_used=0,
        disk_available_least=1024, updated_at=_UPDATED_AT,
        numa_topology=None, pci_device_pools=None, metrics=None,
        stats=stats or {},
        cpu_allocation_ratio=1.0, ram_allocation_ratio=1.0,
        disk_allocation_ratio=1.0,
    )


def host_state(node: objects.ComputeNode) -> host_manager.HostState:
    """A HostState updated from ``node``, as the scheduler builds it.

    Its nova-compute service is enabled and last seen now, so Nova's
    ComputeFilter passes it while ``[DEFAULT] service_down_time`` has not
    elapsed.
    """
    state = host_manager.HostState(node.host, node.hypervisor_hostname,
                                   None)
    now = datetime.datetime.now(datetime.timezone.utc)
    service = {
        "host": node.host, "binary": "nova-compute", "disabled": False,
        "disabled_reason": None, "forced_down": False,
        "last_seen_up": now, "created_at": now, "updated_at": now,
    }
    state.update(compute=node, service=service, aggregates=[],
                 inst_dict={})
    return state


def request_spec(
    extra_specs: dict[str, str] | None = None,
    image_properties: dict[str, Any] | None = None,
    *,
    instance_uuid: str = "11111111-2222-4333-8444-555555555555",
) -> objects.RequestSpec:
    """A RequestSpec for one instance of a small flavor and an image."""
    objects.register_all()
    flavor = objects.Flavor(
        id=1, flavorid="hwabi", name="hwabi", memory_mb=512, vcpus=1,
        root_gb=1, ephemeral_gb=0, swap=0, extra_specs=extra_specs or {},
    )
    image = objects.ImageMeta.from_dict(
        {"properties": image_properties or {}}
    )
    return objects.RequestSpec(
        instance_uuid=instance_uuid, flavor=flavor, image=image,
        num_instances=1, ignore_hosts=None, force_hosts=None,
        force_nodes=None, scheduler_hints={}, instance_group=None,
        pci_requests=objects.InstancePCIRequests(requests=[]),
        project_id="demo", user_id="demo", is_bfv=False,
        availability_zone=None, requested_destination=None,
        requested_networks=objects.NetworkRequestList(objects=[]),
    )
