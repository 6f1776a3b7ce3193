"""The harness shared by the tests, the benchmarks and the demo.

Nothing here runs inside a Nova service: no entry point, no ``nova.conf``
option and no production module imports this package. It holds what the
functional tests, ``benchmarks/`` and ``nova-hwabi-demo`` all need to
stand up the real things around nova-hwabi on one machine:

:mod:`~nova_hwabi.testing.placement_server`
    a real Placement (openstack-placement, sqlite, noauth2) on 127.0.0.1,
    a plain-HTTP admin client for set-up and inspection, the ``nova.conf``
    that reaches it, and a keystoneauth adapter that records what goes
    over the wire;
:mod:`~nova_hwabi.testing.cells`
    Nova's API, cell0 and cell databases on sqlite, created as
    ``nova-manage`` creates them;
:mod:`~nova_hwabi.testing.inprocess`
    Nova's own HostManager and HostStates without cell databases;
:mod:`~nova_hwabi.testing.fixtures`
    fixtures for tests built on Nova's ``nova.test.TestCase``.

Why in the package and not under ``tests/``: the demo is shipped
(``nova-hwabi-demo``) and needs the embedded Placement, the Nova
databases and the HostManager at run time, and the benchmarks run from a
checkout without ``tests/`` on the path. One importable place serves all
three, as OpenStack projects ship theirs (``oslo_config.fixture``,
``oslo_db.sqlalchemy.test_fixtures``, Nova's ``nova.tests.fixtures``). It
is a package of its own, rather than part of ``nova_hwabi/demo/``, so that
its name says it is not on the production path and the demo is one of its
users, not its owner. Its modules import Nova, Placement, ``requests`` and
``fixtures`` (the ``demo`` and ``test`` extras), never the core.
"""
