"""Options of the ``[hwabi_capabilities]`` group: XML limits, host traits."""

from oslo_config import cfg

GROUP = cfg.OptGroup(
    "hwabi_capabilities",
    title="nova-hwabi host capabilities",
    help="How nova-hwabi reads libvirt XML and which host traits it "
    "derives from it.",
)

DEFAULT_MAX_XML_BYTES = 4 * 1024 * 1024
MIN_BITS = 32
MAX_BITS = 52

OPTS = [
    cfg.IntOpt(
        "max_xml_bytes",
        default=DEFAULT_MAX_XML_BYTES,
        min=4096,
        help="Largest libvirt XML document (capabilities, domain "
        "capabilities, domain XML) nova-hwabi will parse, in bytes. Larger "
        "input is rejected before parsing. A host with many guest "
        "architectures produces about 40 KiB; raise this only if a real "
        "document is rejected.",
    ),
    cfg.BoolOpt(
        "report_bits_ladder",
        default=False,
        help="Report one custom trait per physical address width the host "
        "can emulate (CUSTOM_HWABI_MAXPHYSADDR_BITS_<N> for every N from "
        "bits_ladder_min to the host's bits). Placement cannot compare "
        "numbers; with this ladder the request translator can require the "
        "trait for the requested width so Placement narrows hosts before "
        "the host filters run. Enable it on every compute host before "
        "enabling the matching scheduler option.",
    ),
    cfg.IntOpt(
        "bits_ladder_min",
        default=MIN_BITS,
        min=MIN_BITS,
        max=MAX_BITS,
        help="Smallest width reported by the bits ladder. QEMU accepts 32 "
        "to 52 physical address bits for x86 guests.",
    ),
    cfg.BoolOpt(
        "report_machine_type_traits",
        default=False,
        help="Report one custom trait per machine type the host's QEMU "
        "offers (CUSTOM_HWABI_MACHINE_<ARCH>_<MACHINE>, canonical names and "
        "aliases), so moves can be restricted to hosts that can run an "
        "instance's pinned machine type.",
    ),
    cfg.BoolOpt(
        "sync_address_space_traits",
        default=True,
        help="Let nova-hwabi-report --sync add and remove "
        "COMPUTE_ADDRESS_SPACE_EMULATED / _PASSTHROUGH on the provider. "
        "nova-compute also sets both from the libvirt version alone, so "
        "where it runs it will re-add a trait nova-hwabi removed at its next "
        "resource update; set this to false there to leave the two traits "
        "to Nova and sync only nova-hwabi's custom traits.",
    ),
    cfg.ListOpt(
        "machine_type_trait_arches",
        default=[],
        help="Guest architectures whose machine types are reported as "
        "traits when report_machine_type_traits is enabled. Empty means "
        "the host's own architecture only.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register the ``[hwabi_capabilities]`` options on ``conf``."""
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[cfg.OptGroup, list[cfg.Opt]]]:
    """``[(group, opts)]`` for the sample config generator."""
    return [(GROUP, OPTS)]
