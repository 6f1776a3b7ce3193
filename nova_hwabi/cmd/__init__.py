"""Console scripts, one module per command (setup.cfg ``console_scripts``).

``nova-hwabi-report`` (:mod:`~nova_hwabi.cmd.report`): what a compute host
offers and which traits it reports; ``--sync`` to Placement or
``--provider-config``.
``nova-hwabi-manage`` (:mod:`~nova_hwabi.cmd.manage`): machine types and
device models of instances, and the address-width audit.
``nova-hwabi-status`` (:mod:`~nova_hwabi.cmd.status`): upgrade checks.
``nova-hwabi-scheduler`` (:mod:`~nova_hwabi.cmd.scheduler`): nova-scheduler
with nova-hwabi's request filters.
``nova-hwabi-demo`` (:mod:`~nova_hwabi.cmd.demo`): the end-to-end demo.
:mod:`~nova_hwabi.cmd.nova_setup` starts the admin commands as nova-manage
starts and checks their configuration; :mod:`~nova_hwabi.cmd.cli` holds
their convention: an exit-code table per command (or sub-command) that its
``--help`` is generated from and its handlers return by name, and the
``--format table|json`` printer.
"""
