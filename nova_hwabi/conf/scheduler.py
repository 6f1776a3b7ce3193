"""Options of the ``[hwabi_scheduler]`` group: filters, request filters."""

from oslo_config import cfg

from nova_hwabi.machine_type.defaults import ARCHITECTURES

GROUP = cfg.OptGroup(
    "hwabi_scheduler",
    title="nova-hwabi scheduler",
    help="How nova-hwabi's host filters and request filters decide "
    "maxphysaddr requests.",
)

_WIDTH_CHOICES = (
    ("same", "Only hosts giving the guest the width it runs with: its "
     "recorded bits, or for a guest capped by a passthrough limit any host "
     "with at least the limit."),
    ("at-least", "Hosts with at least the recorded bits: the guest never "
     "loses address bits."),
    ("any", "No condition on the host's bits (Nova's behaviour: the "
     "operator must keep moves between similar hosts)."),
)

# Nova's architecture names (one list, kept equal to Nova's by a unit
# test); reading the option does not import Nova.
GUEST_ARCHES = ARCHITECTURES

OPTS = [
    cfg.StrOpt(
        "unknown_host_bits",
        default="reject",
        choices=(
            ("reject", "A host that does not report its address bits fails "
             "requests that need a width."),
            ("accept", "Such a host passes; the guest may then fail to start "
             "on it if its width is too small."),
        ),
        help="What ComputeCapabilitiesFilter and ImagePropertiesFilter do "
        "with a host whose cpu_info has no maxphysaddr bits when the request "
        "asks for a width (both filters follow this one policy; upstream "
        "Nova's two filters disagree).",
    ),
    cfg.BoolOpt(
        "require_bits_ladder",
        default=False,
        help="Make the address_space request filter require "
        "CUSTOM_HWABI_MAXPHYSADDR_BITS_<N> for emulated requests, so "
        "Placement only returns hosts with at least N bits. Enable only "
        "after every compute host reports the ladder "
        "([hwabi_capabilities] report_bits_ladder), or hosts that do not "
        "report it will never be candidates.",
    ),
    cfg.ListOpt(
        "request_filters",
        default=["address_space", "address_width"],
        help="nova-hwabi request filters to run before Placement is asked, "
        "by entry-point name in the nova_hwabi.request_filters namespace: "
        "address_width (moves of passthrough guests keep their address "
        "width through the bits ladder; acts only with "
        "require_bits_ladder, else AddressWidthFilter does it), "
        "address_space (maxphysaddr traits) and machine_type (the trait "
        "of the recorded machine type; enable it only once every compute "
        "host sets [hwabi_capabilities] report_machine_type_traits) and "
        "recorded_devices (on moves, Nova's COMPUTE_STORAGE_BUS_*, "
        "COMPUTE_GRAPHICS_MODEL_* and COMPUTE_NET_VIF_MODEL_* traits of "
        "the device buses and models recorded for the instance). They "
        "only run in a scheduler started as nova-hwabi-scheduler (see the "
        "README); the plain nova-scheduler never runs them.",
    ),
    cfg.StrOpt(
        "live_move_address_width",
        default="same",
        choices=_WIDTH_CHOICES,
        help="Which hosts a live migration of a guest with "
        "hw:maxphysaddr_mode=passthrough may reach, compared with the "
        "address width recorded for it (the width it runs with; see the "
        "README). The default keeps the width: a running guest's OS has "
        "already sized its memory map for it, so a narrower destination can "
        "leave guest memory above what its CPU can address and a wider one "
        "changes CPUID under a running OS. Emulated guests are not "
        "affected: their requested bits already decide their hosts.",
    ),
    cfg.StrOpt(
        "cold_move_address_width",
        default="at-least",
        choices=_WIDTH_CHOICES,
        help="The same choice for cold moves of a passthrough guest: cold "
        "migration, resize, evacuation and unshelve. The guest boots afresh "
        "on the destination, so a wider host only gives it more address "
        "space; at-least keeps it from losing bits (memory or devices "
        "placed high would no longer fit) while leaving more hosts "
        "eligible than same.",
    ),
    cfg.StrOpt(
        "capabilities_operators",
        default="nova",
        choices=(
            ("nova", "Nova's answers: <in> and <all-in> are substring tests "
             "on the capability's string form (<in> aes matches a host "
             "whose CPU features list only vaes), and <or> takes every "
             "other word as an alternative."),
            ("typed", "<in> and <all-in> test membership when the "
             "capability is a list (CPU features), substring only on "
             "strings, and <or> needs <or> between alternatives: <in> aes "
             "no longer matches a host with only vaes."),
        ),
        help="How ComputeCapabilitiesFilter reads the operators of "
        "capabilities: flavor extra specs. Both modes parse each "
        "requirement once per request and never raise in the scheduler; "
        "numeric operators ('=' meaning >=, ==, !=, >=, <=) and the string "
        "operators (s==, s!=, s<, s<=, s>, s>=) are Nova's in both. Run "
        "nova-hwabi-status upgrade check before switching to typed: it "
        "names the flavors that would pass other hosts.",
    ),
    cfg.StrOpt(
        "default_guest_arch",
        default="x86_64",
        choices=GUEST_ARCHES,
        help="Guest architecture the machine_type request filter assumes "
        "when the image has no hw_architecture property (a name of Nova's "
        "hw_architecture image property, as libvirt spells it).",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register the ``[hwabi_scheduler]`` options on ``conf``."""
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[cfg.OptGroup, list[cfg.Opt]]]:
    """``[(group, opts)]`` for the sample config generator."""
    return [(GROUP, OPTS)]
