"""Property: no flavor, image or host record makes the scheduler raise.

Random flavor extra specs (our keys, ``capabilities:`` keys with every
operator, unscoped keys), image properties (whatever Nova's ImageMeta
accepts) and host ``cpu_info`` strings (JSON with odd ``maxphysaddr``
values, and not JSON at all) go through Nova's real HostManager with our
two filters, loaded from a nova.conf as in a deployment. Whatever the
answer, ``get_filtered_hosts`` must return one.
"""

import json

import nova.conf
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from nova_hwabi.testing import inprocess

CONF = nova.conf.CONF

# The values that broke one parser or another: signs, underscores,
# non-ASCII digits, floats, whitespace, huge numbers.
NASTY_NUMBERS = ["+46", "4_6", "\u00b2", "\u0664\u0666", " 46 ", "46.0",
                 "1e2", "-46", "", "nan", "inf", "99999999999999999999",
                 "0x2e", "46\n", "\u200b46"]
numbers = st.one_of(
    st.integers(min_value=-10, max_value=10 ** 20).map(str),
    st.sampled_from(NASTY_NUMBERS),
    st.text(max_size=6),
)
operators = st.sampled_from(["", "=", "==", "!=", ">=", "<=", "s==", "s!=",
                             "s<", "s<=", "s>", "s>=", "<in>", "<all-in>",
                             "<or>"])
requirements = st.one_of(
    st.tuples(operators, st.lists(st.one_of(numbers, st.sampled_from(
        ["aes", "Intel", "<or>", "kvm"])), max_size=4)).map(
            lambda pair: " ".join([pair[0], *pair[1]]).strip()),
    st.text(max_size=12),
)
spec_keys = st.sampled_from([
    "hw:maxphysaddr_mode", "hw:maxphysaddr_bits",
    "capabilities:cpu_info:features", "capabilities:cpu_info:vendor",
    "capabilities:cpu_info:maxphysaddr:bits",
    "capabilities:cpu_info:topology:cores", "capabilities:hypervisor_type",
    "capabilities:stats:x", "cpu_info", "vcpus", "free_ram_mb",
    "capabilities:", "capabilities:cpu_info:", "trait:CUSTOM_X",
])
random_specs = st.dictionaries(
    spec_keys, st.one_of(requirements, numbers,
                         st.sampled_from(["emulate", "passthrough"])),
    max_size=4)
# Half the flavors ask for a width, so hosts' bits are read.
extra_specs = st.one_of(
    random_specs,
    st.tuples(random_specs, st.sampled_from(["32", "46", "52"])).map(
        lambda pair: {**pair[0], "hw:maxphysaddr_mode": "emulate",
                      "hw:maxphysaddr_bits": pair[1]}),
)
image_properties = st.fixed_dictionaries({}, optional={
    "hw_maxphysaddr_mode": st.sampled_from(["emulate", "passthrough"]),
    "hw_maxphysaddr_bits": st.one_of(st.integers(-5, 100), numbers),
    "hw_architecture": st.sampled_from(["x86_64", "aarch64", "i686",
                                        "s390x"]),
    "img_hv_type": st.sampled_from(["kvm", "qemu", "xen"]),
    "hw_vm_mode": st.sampled_from(["hvm", "xen", "exe"]),
    "img_hv_requested_version": st.one_of(
        st.sampled_from([">=7.0", "<2.0", ">= 6.2.0", "==", "x"]),
        st.text(max_size=6)),
})
json_scalars = st.one_of(st.sampled_from(NASTY_NUMBERS), st.none(),
                         st.booleans(), st.integers(),
                         st.floats(allow_nan=True), numbers)
cpu_infos = st.one_of(
    st.fixed_dictionaries({}, optional={
        "arch": st.sampled_from(["x86_64", "aarch64", 7]),
        "vendor": st.one_of(st.sampled_from(["Intel", "AMD"]), json_scalars),
        "features": st.one_of(st.lists(st.sampled_from(
            ["aes", "vaes", "avx2"])), json_scalars),
        "maxphysaddr": st.one_of(
            st.fixed_dictionaries({"bits": json_scalars}, optional={
                "mode": st.one_of(st.sampled_from(["emulate",
                                                   "passthrough"]),
                                  json_scalars)}),
            json_scalars),
        "topology": st.one_of(st.fixed_dictionaries(
            {"cores": json_scalars}), json_scalars),
    }).map(json.dumps),
    st.text(max_size=20),
    st.just("null"), st.just("[]"), st.just('"x"'),
)


@pytest.fixture(scope="module")
def manager(tmp_path_factory):
    path = tmp_path_factory.mktemp("nova") / "nova.conf"
    path.write_text(
        "[filter_scheduler]\n"
        "available_filters = nova.scheduler.filters.all_filters\n"
        "available_filters = nova_hwabi.filters.all_filters\n"
        "enabled_filters = ComputeCapabilitiesFilter,ImagePropertiesFilter\n"
    )
    CONF([], project="nova", default_config_files=[str(path)])
    yield inprocess.DetachedHostManager()
    CONF.clear()


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(flavor=extra_specs, image=image_properties,
       hosts=st.lists(cpu_infos, min_size=1, max_size=4),
       operators_mode=st.sampled_from(["nova", "typed"]))
def test_scheduler_never_raises(manager, flavor, image, hosts,
                                operators_mode):
    try:
        spec = inprocess.request_spec(flavor, image)
    except (ValueError, TypeError):
        # Nova's ImageMeta refuses the property before any scheduler
        # sees it (e.g. hw_maxphysaddr_bits='abc' is no IntegerField).
        assume(False)
    CONF.set_override("capabilities_operators", operators_mode,
                      group="hwabi_scheduler")
    try:
        states = [inprocess.host_state(inprocess.compute_node(
            index, cpu_info)) for index, cpu_info in enumerate(hosts)]
        passed = list(manager.get_filtered_hosts(states, spec))
    finally:
        CONF.clear_override("capabilities_operators",
                            group="hwabi_scheduler")
    assert all(host in states for host in passed)
