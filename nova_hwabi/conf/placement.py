"""The ``[placement]`` options, as Nova registers them (keystoneauth1).

nova-hwabi connects to Placement exactly as Nova does: a keystoneauth1
session, auth plugin and adapter loaded from ``[placement]``. In a Nova
process these options already exist; our console scripts register the same
keystoneauth1 options on their private ConfigOpts. Not in our sample
config: they are Nova's.
"""

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

GROUP = "placement"


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register keystoneauth1's [placement] options unless present."""
    try:
        if "auth_type" in conf[GROUP]:
            return
    except cfg.NoSuchOptError:
        pass
    ks_loading.register_session_conf_options(conf, GROUP)
    ks_loading.register_auth_conf_options(conf, GROUP)
    ks_loading.register_adapter_conf_options(conf, GROUP,
                                             include_deprecated=False)
    conf.set_default("service_type", "placement", group=GROUP)
    conf.set_default("valid_interfaces", ["internal", "public"],
                     group=GROUP)
