"""oslo.config options of nova-hwabi.

One module per option group, each with ``register_opts(conf)`` and
``list_opts()``. Our own groups are prefixed ``hwabi_`` so they can live in
``nova.conf`` beside Nova's. The few Nova options we read are declared in
:mod:`nova_hwabi.conf.libvirt` and registered only where Nova has not
registered them already.
"""

from oslo_config import cfg

from nova_hwabi.conf import capabilities, libvirt, placement, scheduler

_OWN_GROUP_MODULES = (capabilities, scheduler)


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register nova-hwabi's option groups and the Nova options it reads.

    Safe to call more than once on the same ConfigOpts.
    """
    for module in _OWN_GROUP_MODULES:
        module.register_opts(conf)
    libvirt.register_opts(conf)
    placement.register_opts(conf)


def list_opts() -> list[tuple[cfg.OptGroup, list[cfg.Opt]]]:
    """Our own option groups, for ``oslo-config-generator``.

    Nova's options are documented in Nova's sample configuration and are
    deliberately left out here.
    """
    opts: list[tuple[cfg.OptGroup, list[cfg.Opt]]] = []
    for module in _OWN_GROUP_MODULES:
        opts.extend(module.list_opts())
    return opts


def new_config() -> cfg.ConfigOpts:
    """A private ConfigOpts with every option nova-hwabi uses registered.

    Console scripts use their own ConfigOpts instead of the process-global
    ``cfg.CONF`` so that importing Nova in the same process can never clash
    with our registrations.
    """
    conf = cfg.ConfigOpts()
    register_opts(conf)
    return conf
