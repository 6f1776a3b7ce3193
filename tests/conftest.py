"""Shared test helpers: paths to fixtures and the shipped samples."""

from pathlib import Path

import pytest

from nova_hwabi.capabilities.samples import load_sample, sample_names

FIXTURES = Path(__file__).parent / "fixtures"
DOMAINS = FIXTURES / "domains"


@pytest.fixture(params=sample_names())
def sample(request):
    """Every shipped sample host, one test per sample."""
    return load_sample(request.param)
