"""Nova's own ``[libvirt]`` options that nova-hwabi reads from ``nova.conf``.

These mirror the names, types and defaults of Nova's options (the same
in every supported series, see nova_hwabi.compat). They are
registered only when the group does not already hold an option of that
name: in a Nova process (scheduler, compute) Nova's registrations win and
we read Nova's values; in our console scripts, which use a private
ConfigOpts, these copies let us read ``nova.conf`` without importing Nova.
They are not part of nova-hwabi's sample config; see Nova's documentation.
"""

from oslo_config import cfg

LIBVIRT_GROUP = "libvirt"

VIRT_TYPES = ("kvm", "lxc", "qemu", "parallels")
CPU_MODES = ("host-model", "host-passthrough", "custom", "none")

LIBVIRT_OPTS = [
    cfg.StrOpt(
        "virt_type",
        default="kvm",
        choices=VIRT_TYPES,
        help="Nova's [libvirt] virt_type: the libvirt domain type.",
    ),
    cfg.StrOpt(
        "connection_uri",
        default="",
        help="Nova's [libvirt] connection_uri; empty means the default "
        "URI for virt_type.",
    ),
    cfg.StrOpt(
        "cpu_mode",
        choices=CPU_MODES,
        help="Nova's [libvirt] cpu_mode; unset means host-model for kvm "
        "and none otherwise.",
    ),
    cfg.ListOpt(
        "hw_machine_type",
        help="Nova's [libvirt] hw_machine_type: default machine type per "
        "architecture, e.g. x86_64=q35,aarch64=virt.",
    ),
]


def _is_registered(conf: cfg.ConfigOpts, group: str, name: str) -> bool:
    try:
        return name in conf[group]
    except cfg.NoSuchOptError:
        return False


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register the Nova options we read, unless Nova already did."""
    for opt in LIBVIRT_OPTS:
        if not _is_registered(conf, LIBVIRT_GROUP, opt.dest):
            conf.register_opt(opt, group=LIBVIRT_GROUP)


def effective_cpu_mode(conf: cfg.ConfigOpts) -> str:
    """The CPU mode Nova's libvirt driver really uses for ``conf``.

    Nova treats an unset ``cpu_mode`` as ``host-model`` under kvm (and
    under qemu on aarch64, which this package does not special-case) and
    as ``none`` otherwise.
    """
    mode: str | None = conf.libvirt.cpu_mode
    if mode:
        return mode
    return "host-model" if conf.libvirt.virt_type == "kvm" else "none"


def connection_uri(conf: cfg.ConfigOpts) -> str:
    """The libvirt URI Nova's compute service would connect to."""
    uri: str = conf.libvirt.connection_uri
    if uri:
        return uri
    if conf.libvirt.virt_type in ("kvm", "qemu"):
        return "qemu:///system"
    return "%s:///" % conf.libvirt.virt_type
