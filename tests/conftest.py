"""Shared test helpers: paths to fixtures and the shipped samples."""

from pathlib import Path

import pytest

from nova_hwabi.capabilities.samples import load_sample, sample_names

FIXTURES = Path(__file__).parent / "fixtures"
DOMAINS = FIXTURES / "domains"
CAPABILITIES = FIXTURES / "capabilities"

# Written host capabilities whose <maxphysaddr> is mode='passthrough'
# (tests/fixtures/README.md); not shipped as samples, so the demo's fleet
# and its expected outcomes stay as they are.
PASSTHROUGH_48_BITS = "x86_64-maxphysaddr-passthrough-48bits.xml"
PASSTHROUGH_NO_BITS = "x86_64-maxphysaddr-passthrough-nobits.xml"
CAPABILITIES_FIXTURES = (PASSTHROUGH_48_BITS, PASSTHROUGH_NO_BITS)


def capabilities_fixture(name: str) -> bytes:
    """The bytes of ``tests/fixtures/capabilities/<name>``."""
    return (CAPABILITIES / name).read_bytes()


@pytest.fixture(params=sample_names())
def sample(request):
    """Every shipped sample host, one test per sample."""
    return load_sample(request.param)
