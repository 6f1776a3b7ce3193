"""A throwaway installed distribution that adds entry points, for tests.

Discovery and load-failure handling are tested against the real
machinery: a ``*.dist-info`` directory on ``sys.path`` is found by
``importlib.metadata`` and stevedore exactly like nova-hwabi's own, so a
broken entry point fails to load the way it would in production. The
shipped package declares no test-only entry points.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from stevedore import extension

DIST_NAME = "nova_hwabi_test_plugins"


class PluginDistribution:
    """A distribution with entry points ``{group: {name: "module:attr"}}``."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self._monkeypatch = monkeypatch
        self._groups: dict[str, dict[str, str]] = {}

    def add(self, group: str, **entry_points: str) -> None:
        """Declare entry points in ``group``, visible from now on."""
        self._groups.setdefault(group, {}).update(entry_points)
        self._write()
        self._monkeypatch.syspath_prepend(str(self.root))
        # stevedore remembers each namespace's entry points per process;
        # start from a fresh memory (restored when the test ends).
        self._monkeypatch.setattr(extension.ExtensionManager,
                                  "ENTRY_POINT_CACHE", {})

    def add_module(self, name: str, source: str) -> None:
        """A module importable while the test runs (``name.py``)."""
        (self.root / f"{name}.py").write_text(source)

    def _write(self) -> None:
        dist_info = self.root / f"{DIST_NAME}-0.dist-info"
        dist_info.mkdir(exist_ok=True)
        (dist_info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {DIST_NAME}\nVersion: 0\n")
        lines = []
        for group, entry_points in self._groups.items():
            lines.append(f"[{group}]")
            lines += [f"{name} = {target}"
                      for name, target in entry_points.items()]
        (dist_info / "entry_points.txt").write_text("\n".join(lines) + "\n")

