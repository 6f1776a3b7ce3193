"""Sample hosts shipped as package data (``capabilities/samples/<name>``).

Each sample holds a ``capabilities.xml``, optionally a
``domcapabilities.xml``, and a ``host.json`` with what the files cannot
carry: the libvirt version, the hypervisor hostname and the ``[libvirt]``
settings the host is meant to run with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

from nova_hwabi.capabilities.errors import UnknownSampleError
from nova_hwabi.capabilities.versions import LibvirtVersion

if TYPE_CHECKING:
    # importlib.resources.abc is Python >= 3.11; we support 3.10.
    from importlib.abc import Traversable

_PACKAGE = "nova_hwabi.capabilities"


@dataclass(frozen=True, slots=True)
class SampleHost:
    """One shipped sample host."""

    name: str
    description: str
    origin: str
    hypervisor_hostname: str
    libvirt_version: LibvirtVersion
    virt_type: str
    cpu_mode: str
    capabilities_xml: bytes
    domain_capabilities_xml: bytes | None


def _samples_dir() -> Traversable:
    return resources.files(_PACKAGE).joinpath("samples")


def sample_names() -> tuple[str, ...]:
    """Names of the shipped sample hosts, sorted."""
    return tuple(sorted(
        entry.name for entry in _samples_dir().iterdir()
        if entry.joinpath("host.json").is_file()
    ))


def load_sample(name: str) -> SampleHost:
    """Load sample host ``name``; :class:`UnknownSampleError` if none."""
    if name not in sample_names():
        raise UnknownSampleError(
            "no sample host %r; available: %s"
            % (name, ", ".join(sample_names()))
        )
    directory = _samples_dir().joinpath(name)
    meta = json.loads(directory.joinpath("host.json").read_text("utf-8"))
    domcaps = directory.joinpath("domcapabilities.xml")
    return SampleHost(
        name=name,
        description=meta["description"],
        origin=meta["origin"],
        hypervisor_hostname=meta["hypervisor_hostname"],
        libvirt_version=LibvirtVersion.parse(meta["libvirt_version"]),
        virt_type=meta["libvirt"]["virt_type"],
        cpu_mode=meta["libvirt"]["cpu_mode"],
        capabilities_xml=directory.joinpath(
            "capabilities.xml"
        ).read_bytes(),
        domain_capabilities_xml=(
            domcaps.read_bytes() if domcaps.is_file() else None
        ),
    )
