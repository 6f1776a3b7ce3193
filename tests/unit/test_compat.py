"""nova_hwabi.compat on stand-ins for each series' Nova (no Nova imported).

The real series are exercised by the functional tests, which CI runs on
every supported Nova (tests/functional/test_compat_with_nova.py checks the
answers against the installed Nova itself).
"""

import logging
import os
import sys
import types
import warnings

import pytest

from nova_hwabi import compat


@pytest.fixture
def fake_nova(monkeypatch):
    """Install stand-in ``nova.*`` modules; returns a setter."""
    monkeypatch.setattr(compat, "_backend_chosen", False)

    def install(name, **attrs):
        module = types.ModuleType(name)
        module.__dict__.update(attrs)
        monkeypatch.setitem(sys.modules, name, module)
        return module

    install("nova")
    return install


@pytest.mark.parametrize("version, series, described", [
    ("34.0.0", 34, "nova 34.0.0 (2026.2 Hibiscus)"),
    ("33.0.2", 33, "nova 33.0.2 (2026.1 Gazpacho)"),
    ("32.2.1", 32, "nova 32.2.1 (2025.2 Flamingo)"),
    ("31.3.1", 31, "nova 31.3.1 (unsupported series)"),
])
def test_series_and_description(monkeypatch, version, series, described):
    monkeypatch.setattr(compat, "nova_version", lambda: version)
    assert compat.nova_series() == series
    assert compat.describe_nova() == described


def test_check_supported_names_the_supported_series(monkeypatch):
    monkeypatch.setattr(compat, "nova_version", lambda: "31.3.1")
    with pytest.raises(compat.UnsupportedNovaError,
                       match=r"nova 31\.3\.1 is not supported.*32, 33, 34"):
        compat.check_supported()
    monkeypatch.setattr(compat, "nova_version", lambda: "33.0.2")
    assert compat.check_supported() == 33


def test_nova_version_without_nova_says_how_to_fix(monkeypatch):
    def missing(name):
        raise compat.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(compat.metadata, "version", missing)
    compat.nova_version.cache_clear()
    try:
        with pytest.raises(compat.UnsupportedNovaError,
                           match="Nova is not installed"):
            compat.nova_version()
    finally:
        compat.nova_version.cache_clear()


def _eventlet_like_warning():
    class EventletDeprecationWarning(Warning):
        pass

    warnings.warn("\nEventlet is deprecated. It is currently ...",
                  EventletDeprecationWarning, stacklevel=1)


def test_quiet_startup_mutes_only_the_named_noise(capsys):
    logger = logging.getLogger("nova.monkey_patch")
    logger.setLevel(logging.NOTSET)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with compat.quiet_nova_startup():
            _eventlet_like_warning()
            logger.warning("Service is starting with native threading.")
            warnings.warn("a real problem", UserWarning, stacklevel=1)
            assert logger.getEffectiveLevel() == logging.ERROR
        # Restored afterwards: the same warning is seen again.
        _eventlet_like_warning()
    assert [str(w.message).strip()[:22] for w in seen] == [
        "a real problem", "Eventlet is deprecated"]
    assert logger.level == logging.NOTSET
    assert "native threading" not in capsys.readouterr().err


@pytest.mark.parametrize("preset", [None, "0"])
def test_threading_with_a_patch_that_takes_no_backend(fake_nova,
                                                      monkeypatch, preset):
    # Nova 32: patch() reads OS_NOVA_DISABLE_EVENTLET_PATCHING only.
    monkeypatch.delenv(compat._THREADING_ENV, raising=False)
    if preset is not None:
        monkeypatch.setenv(compat._THREADING_ENV, preset)
    seen = []
    fake_nova("nova.monkey_patch", is_patched=lambda: False,
              patch=lambda: seen.append(os.environ.get(compat._THREADING_ENV)))
    compat.use_native_threading()
    # The operator's own choice wins; otherwise threads, for the call only.
    assert seen == [preset or "1"]
    assert os.environ.get(compat._THREADING_ENV) == preset


def test_threading_with_a_patch_that_takes_a_backend(fake_nova):
    # Nova 33 and 34.
    seen = []

    def patch(backend="eventlet"):
        seen.append(backend)

    fake_nova("nova.monkey_patch", is_patched=lambda: False, patch=patch)
    compat.use_native_threading()
    assert seen == ["threading"]


def test_threading_is_chosen_once(fake_nova):
    seen = []

    def patch(backend="eventlet"):
        seen.append(backend)

    fake_nova("nova.monkey_patch", is_patched=lambda: False, patch=patch)
    compat.use_native_threading()
    compat.use_native_threading()
    assert seen == ["threading"]


def test_eventlet_chosen_before_is_kept(fake_nova):
    fake_nova("nova.monkey_patch", is_patched=lambda: True,
              patch=lambda **kw: pytest.fail("patched over eventlet"))
    compat.use_native_threading()


def test_parse_args_with_prog(fake_nova):
    seen = []

    def parse_args(argv, default_config_files=None, prog=None):
        seen.append((argv, prog, default_config_files))

    fake_nova("nova.config", parse_args=parse_args)
    compat.parse_nova_args(["p", "--x"], "nova-hwabi-manage",
                           default_config_files=[])
    assert seen == [(["p", "--x"], "nova-hwabi-manage", [])]


def test_parse_args_without_prog_names_the_program_by_argv0(fake_nova,
                                                            monkeypatch):
    # Nova 32: oslo.config names the program after sys.argv[0].
    monkeypatch.setattr(sys, "argv", ["/usr/bin/whatever", "--x"])
    seen = []
    fake_nova("nova.config",
              parse_args=lambda argv: seen.append((argv, sys.argv[0])))
    compat.parse_nova_args(["p", "--x"], "nova-hwabi-status")
    assert seen == [(["p", "--x"], "nova-hwabi-status")]
    assert sys.argv == ["/usr/bin/whatever", "--x"]


def test_parse_args_without_prog_restores_argv0_on_error(fake_nova,
                                                         monkeypatch):
    monkeypatch.setattr(sys, "argv", ["/usr/bin/whatever"])

    def parse_args(argv):
        raise SystemExit(2)

    fake_nova("nova.config", parse_args=parse_args)
    with pytest.raises(SystemExit):
        compat.parse_nova_args(["p"], "nova-hwabi-status")
    assert sys.argv == ["/usr/bin/whatever"]


class _DriverWithSeam:
    def process_instances_at_startup(self, context, instances):
        return instances


class _DriverWithoutSeam:
    def init_host(self, host):
        pass


@pytest.mark.parametrize("driver, seam, in_init_host", [
    (_DriverWithSeam, compat.SEAM_PROCESS_INSTANCES_AT_STARTUP, False),
    (_DriverWithoutSeam, compat.SEAM_INIT_HOST, True),
])
def test_startup_seam(fake_nova, driver, seam, in_init_host):
    fake_nova("nova.virt")
    fake_nova("nova.virt.driver", ComputeDriver=driver)
    assert compat.startup_seam() == seam
    assert compat.registers_defaults_in_init_host() is in_init_host
