"""Sphinx configuration of nova-hwabi's documentation.

Built with warnings as errors: ``sphinx-build -W -b html doc/source
doc/build/html`` (``tox -e docs``, and ``scripts/test``).
"""

project = "nova-hwabi"
copyright = "nova-hwabi contributors"
extensions = [
    # .. show-options:: nova_hwabi (the oslo.config.opts entry point)
    "oslo_config.sphinxext",
]
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path: list[str] = []
html_theme_options = {"nosidebar": False}
