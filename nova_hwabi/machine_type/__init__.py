"""Machine types and device buses/models of Nova instances.

The rules, pure and importable without Nova:

* :mod:`~nova_hwabi.machine_type.names`: QEMU machine type names and
  versions (``parse_machine_type``, ``compare_machine_types``) and
  ``MachineTypeError``, the base of every error below;
* :mod:`~nova_hwabi.machine_type.updates`: the update rules
  (``check_update``);
* :mod:`~nova_hwabi.machine_type.defaults`: ``[libvirt] hw_machine_type``
  and Nova's built-in defaults (``default_machine_type``);
* :mod:`~nova_hwabi.machine_type.devices`: the device bus/model image
  properties (``validate_image_property``);
* :mod:`~nova_hwabi.machine_type.arches`: which architectures can run a
  machine type (QEMU's documented lists and what hosts report:
  ``check_machine_type_arch``, ``documented_arches``).

On Nova's instance records: the recording hooks
(:mod:`~nova_hwabi.machine_type.hooks`), one instance's reads and writes
(:mod:`~nova_hwabi.machine_type.records`), the listings across cells and
the fleet transition (:mod:`~nova_hwabi.machine_type.listings`), the
recorder, the audits and the transition rules.

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
"""

from nova_hwabi.machine_type.defaults import (
    NOVA_DEFAULT_MACHINE_TYPES,
    InvalidMachineTypeConfig,
    configured_arches,
    default_machine_type,
    parse_machine_type_config,
)
from nova_hwabi.machine_type.devices import (
    DEVICE_PROPERTIES,
    InvalidImageProperty,
    allowed_image_property_values,
    check_image_property_name,
    validate_image_property,
)
from nova_hwabi.machine_type.names import (
    IncomparableMachineTypesError,
    MachineType,
    MachineTypeError,
    UnsupportedMachineType,
    compare_machine_types,
    parse_machine_type,
)
from nova_hwabi.machine_type.updates import (
    InvalidMachineTypeUpdate,
    check_update,
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
