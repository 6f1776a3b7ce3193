"""Shared test helpers: paths to fixtures and the shipped samples."""

from pathlib import Path

import pytest
from stevedore import _cache as stevedore_cache

from nova_hwabi.capabilities.samples import load_sample, sample_names
from tests.plugins import PluginDistribution

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


FUNCTIONAL = Path(__file__).parent / "functional"


def pytest_collection_modifyitems(config, items):
    """Mark every test under tests/functional/ ``nova`` (Nova-facing).

    CI runs ``-m nova`` on each older Nova series: a new functional test
    falls into that selection without being marked by hand.
    """
    for item in items:
        if FUNCTIONAL in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.nova)


@pytest.fixture
def plugin_distribution(tmp_path, monkeypatch) -> PluginDistribution:
    """Entry points installed for one test only (tests/plugins.py)."""
    # stevedore also keeps a cache file per sys.path under ~/.cache; a
    # temporary path would leave one behind at every run.
    monkeypatch.setattr(stevedore_cache._c, "_disable_caching", True,
                        raising=False)
    root = tmp_path / "site"
    root.mkdir()
    return PluginDistribution(root, monkeypatch)
