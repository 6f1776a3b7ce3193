"""Fixtures for functional tests built on Nova's ``nova.test.TestCase``.

Only the tests import this module; it needs the ``fixtures`` library and
SQLAlchemy (the ``test`` extra, and Nova).
"""

from __future__ import annotations

import fixtures
from sqlalchemy import exc as sqla_exc


class IgnoreNoloadDeprecation(fixtures.WarningsFilter):
    """Let Nova's own ``noload()`` queries pass Nova's WarningsFixture.

    Nova's TestCase turns SQLAlchemy deprecation warnings raised from
    ``nova.*`` into errors, and Nova 34's own queries (for example
    ``Instance.get_by_uuid`` without both ``metadata`` and
    ``system_metadata``) use ``noload()``, deprecated in SQLAlchemy 2.1.
    Not ours and harmless in production; without this filter a test that
    reads an instance through Nova's objects fails in Nova's code.
    """

    def __init__(self) -> None:
        super().__init__([{
            "action": "ignore", "message": r"The noload\(\) option",
            "category": sqla_exc.SADeprecationWarning,
        }])
