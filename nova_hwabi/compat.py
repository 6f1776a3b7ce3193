"""Every difference between the Nova series nova-hwabi supports.

Supported series (``SUPPORTED_SERIES``): nova 32.x (2025.2 Flamingo),
33.x (2026.1 Gazpacho) and 34.x (2026.2 Hibiscus), each with the Placement
of the same release (14.x, 15.x, 16.x). The rest of the package never names
a Nova release nor tests Nova's version: what differs between series is
asked here. Where Nova can be asked directly (a keyword argument, a method)
the answer comes from Nova itself, so a point release that backports a
change is handled too; the series named in each docstring is where the fact
was read (the released sources from PyPI).

What does not differ, checked in the sources of nova 32.2.1, 33.0.2 and
34.0.0, so the rest of the package cites it simply as Nova's: the
``[libvirt]`` options we mirror (``virt_type``, ``cpu_mode``,
``connection_uri``, ``hw_machine_type``); the Architecture, DiskBus,
VIFModel and other enumerations of ``nova.objects.fields`` that
``machine_type.defaults`` and ``machine_type.devices`` copy,
``get_default_machine_type``, ``blockinfo.SUPPORTED_DEVICE_BUSES`` and
``vif.SUPPORTED_VIF_MODELS``; the
absence of ``hw:maxphysaddr_*`` extra-spec validators; the two upstream
filters we replace (``ComputeCapabilitiesFilter``,
``ImagePropertiesFilter``: identical files) and
``machine_type_utils`` (typing only).

Nothing here imports Nova at module import time: Nova must choose its
concurrency backend before its other modules load (see
``use_native_threading``).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import logging
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from importlib import metadata
from typing import Any

SUPPORTED_SERIES = {
    32: "2025.2 Flamingo",
    33: "2026.1 Gazpacho",
    34: "2026.2 Hibiscus",
}

# Nova 32 and 33 read this variable to choose native threading ('1') over
# eventlet; Nova 34 reads it first too, before [DEFAULT] concurrency_backend.
_THREADING_ENV = "OS_NOVA_DISABLE_EVENTLET_PATCHING"

# eventlet warns on import (EventletDeprecationWarning, a plain
# Warning subclass whose text starts with a newline); futurist imports
# eventlet when Nova 32/33 initialise oslo.service's threading backend.
_EVENTLET_DEPRECATION = r"(?s)\s*Eventlet is deprecated"

# The logger of Nova's concurrency choice. Nova 32/33 log a WARNING there
# ("Service is starting with native threading. This is currently
# experimental..."), Nova 34 an INFO; with no logging set up yet, Python's
# last-resort handler prints warnings to stderr.
_MONKEY_PATCH_LOGGER = "nova.monkey_patch"


class UnsupportedNovaError(RuntimeError):
    """Nova is missing or not one of ``SUPPORTED_SERIES``."""


@functools.cache
def nova_version() -> str:
    """The installed Nova's version string, e.g. ``'33.0.2'``.

    Read from the distribution's metadata, without importing Nova.
    Raises UnsupportedNovaError when Nova is not installed.
    """
    try:
        return metadata.version("nova")
    except metadata.PackageNotFoundError:
        raise UnsupportedNovaError(
            "Nova is not installed: install nova-hwabi with a Nova of "
            "series %s (see the README's supported releases)"
            % ", ".join(str(series) for series in SUPPORTED_SERIES)
        ) from None


def nova_series() -> int:
    """The installed Nova's major version (its series), e.g. ``33``."""
    return int(nova_version().split(".", 1)[0])


def describe_nova() -> str:
    """``'nova 33.0.2 (2026.1 Gazpacho)'``, for reports and benchmarks."""
    series = nova_series()
    name = SUPPORTED_SERIES.get(series, "unsupported series")
    return "nova %s (%s)" % (nova_version(), name)


def check_supported() -> int:
    """The installed series; UnsupportedNovaError if it is not supported."""
    series = nova_series()
    if series not in SUPPORTED_SERIES:
        raise UnsupportedNovaError(
            "nova %s is not supported: nova-hwabi supports series %s"
            % (nova_version(),
               ", ".join(str(known) for known in SUPPORTED_SERIES))
        )
    return series


def _accepts(function: Callable[..., object], keyword: str) -> bool:
    return keyword in inspect.signature(function).parameters


@contextlib.contextmanager
def quiet_nova_startup() -> Iterator[None]:
    """Mute Nova's start-up chatter that is no answer to an admin command.

    Within the block: the eventlet deprecation warning is ignored (a
    warnings filter, restored on exit) and the ``nova.monkey_patch``
    logger passes only errors (its level restored on exit). Nothing else
    is muted: real warnings and errors still reach stderr.
    """
    logger = logging.getLogger(_MONKEY_PATCH_LOGGER)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message=_EVENTLET_DEPRECATION, category=Warning)
            yield
    finally:
        logger.setLevel(level)


@contextlib.contextmanager
def _environ_default(name: str, value: str) -> Iterator[None]:
    """Set an environment variable for the block unless already set."""
    if name in os.environ:
        yield
        return
    os.environ[name] = value
    try:
        yield
    finally:
        os.environ.pop(name, None)


# Nova's patch() is not meant to run twice in a process (a second call
# re-initialises oslo.service's backend and re-poisons eventlet).
_backend_chosen = False


def use_native_threading() -> None:
    """Choose Nova's native-threading backend, quietly; idempotent.

    Must run before any other Nova module is imported: Nova picks eventlet
    or threads once, and refuses threads if eventlet was imported first.
    Nova 33 and 34 take ``nova.monkey_patch.patch(backend='threading')``
    (an explicit ``OS_NOVA_DISABLE_EVENTLET_PATCHING``, or in Nova 34
    ``[DEFAULT] concurrency_backend``, still wins, as in nova-manage);
    Nova 32's ``patch()`` takes no argument and reads only that variable,
    so it is set to ``1`` for the call unless the operator set it.
    Nova's notice about the mode and eventlet's deprecation warning are
    muted (``quiet_nova_startup``).
    """
    global _backend_chosen
    if _backend_chosen:
        return
    with quiet_nova_startup():
        monkey_patch = importlib.import_module("nova.monkey_patch")
        # is_patched() is True only once eventlet was chosen (by Nova's
        # own start-up, or the operator's environment).
        if not monkey_patch.is_patched():
            if _accepts(monkey_patch.patch, "backend"):
                monkey_patch.patch(backend="threading")
            else:
                with _environ_default(_THREADING_ENV, "1"):
                    monkey_patch.patch()
    _backend_chosen = True


def parse_nova_args(argv: list[str], prog: str, **kwargs: Any) -> None:
    """``nova.config.parse_args(argv, ...)`` naming the program ``prog``.

    The name appears in ``--help`` and in command-line errors
    (``PROG: error: ...``). Nova 33 and 34 take ``prog=``; Nova 32 does
    not, and oslo.config then names the program after ``sys.argv[0]``, so
    that is set to ``prog`` for the call. ``kwargs`` go to ``parse_args``.
    """
    nova_config = importlib.import_module("nova.config")
    if _accepts(nova_config.parse_args, "prog"):
        nova_config.parse_args(argv, prog=prog, **kwargs)
        return
    saved = sys.argv[0] if sys.argv else None
    with contextlib.ExitStack() as restore:
        if saved is not None:
            sys.argv[0] = prog
            restore.callback(sys.argv.__setitem__, 0, saved)
        nova_config.parse_args(argv, **kwargs)


# The two ways Nova's libvirt driver records instances' default image
# properties (machine type, device buses) at nova-compute start-up.
SEAM_PROCESS_INSTANCES_AT_STARTUP = "process_instances_at_startup"
SEAM_INIT_HOST = "init_host"


def startup_seam() -> str:
    """Where nova-compute's start-up reaches the driver's instances.

    ``SEAM_PROCESS_INSTANCES_AT_STARTUP`` (Nova 34): the compute manager
    calls ``driver.process_instances_at_startup(context, instances)`` with
    the host's instances, and the libvirt driver registers their defaults
    there (``_register_all_undefined_instance_details(context,
    instances)``). ``SEAM_INIT_HOST`` (Nova 32, 33): ``init_host(host)``
    ends with ``_register_all_undefined_instance_details()``, which takes no
    argument and loads the host's instances itself. Answered by Nova's
    ``ComputeDriver`` having the method or not (imports Nova: call it after
    ``use_native_threading`` in a command, or from the driver).
    """
    driver = importlib.import_module("nova.virt.driver")
    if hasattr(driver.ComputeDriver, SEAM_PROCESS_INSTANCES_AT_STARTUP):
        return SEAM_PROCESS_INSTANCES_AT_STARTUP
    return SEAM_INIT_HOST


def registers_defaults_in_init_host() -> bool:
    """True where the libvirt driver registers defaults from ``init_host``.

    That is Nova 32 and 33; see ``startup_seam``.
    """
    return startup_seam() == SEAM_INIT_HOST
