"""Machine types and device buses/models of Nova instances.

The rules (:mod:`nova_hwabi.machine_type.rules`: parsing machine type
names, the update rules, the default machine type and the device
bus/model property checks) are exported here. Beside them: the recording
hooks (``hooks``), instance records in Nova's cells (``records``), the
compute-side recorder and drift audit (``recorder``), fleet transitions
(``transition``), what hosts offer (``offered``), guest architectures
(``arches``) and the address-width audit (``width_audit``).

Public API::

    parse_machine_type(name) -> MachineType
    compare_machine_types(a, b) -> int
    check_update(existing, new) -> MachineType        # --force otherwise
    default_machine_type(arch, conf) -> str | None
    configured_arches(conf) -> tuple[str, ...]
    parse_machine_type_config(entries) -> dict[str, MachineType]
    validate_image_property(name, value, machine_type=None) -> str
    check_image_property_name(name) -> str
    allowed_image_property_values(name, machine_type=None) -> tuple
    MachineTypeError                                  # every error

Which architectures can run a machine type (QEMU's documented lists and
what hosts report) is :mod:`nova_hwabi.machine_type.arches`
(``check_machine_type_arch``, ``documented_arches``).
"""

from nova_hwabi.machine_type.rules import (
    DEVICE_PROPERTIES,
    NOVA_DEFAULT_MACHINE_TYPES,
    IncomparableMachineTypesError,
    InvalidImageProperty,
    InvalidMachineTypeConfig,
    InvalidMachineTypeUpdate,
    MachineType,
    MachineTypeError,
    UnsupportedMachineType,
    allowed_image_property_values,
    check_image_property_name,
    check_update,
    compare_machine_types,
    configured_arches,
    default_machine_type,
    parse_machine_type,
    parse_machine_type_config,
    validate_image_property,
)

__all__ = [
    "DEVICE_PROPERTIES",
    "NOVA_DEFAULT_MACHINE_TYPES",
    "IncomparableMachineTypesError",
    "InvalidImageProperty",
    "InvalidMachineTypeConfig",
    "InvalidMachineTypeUpdate",
    "MachineType",
    "MachineTypeError",
    "UnsupportedMachineType",
    "allowed_image_property_values",
    "check_image_property_name",
    "check_update",
    "compare_machine_types",
    "configured_arches",
    "default_machine_type",
    "parse_machine_type",
    "parse_machine_type_config",
    "validate_image_property",
]
