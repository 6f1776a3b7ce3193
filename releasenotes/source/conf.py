"""Sphinx configuration of nova-hwabi's release notes (reno).

``sphinx-build -W -b html releasenotes/source releasenotes/build/html``
(``tox -e releasenotes``, and ``scripts/test``).
"""

project = "nova-hwabi release notes"
copyright = "nova-hwabi contributors"
extensions = ["reno.sphinxext"]
exclude_patterns = ["_build"]
html_theme = "alabaster"
