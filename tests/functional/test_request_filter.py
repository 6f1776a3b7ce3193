"""The address_space request filter inside Nova's request-filter flow.

Nova's request filters are a fixed list; nova-hwabi's run only after an
explicit register_with_nova() (what nova-hwabi-scheduler does). Proven
with Nova's real process_reqspec() and ResourceRequest: the traits end up
in the root_required query Placement receives.
"""

import logging
from urllib.parse import parse_qs

import nova.conf
import pytest
from nova import context as nova_context
from nova import test
from nova.scheduler import request_filter
from nova.scheduler import utils as scheduler_utils

from nova_hwabi import conf as hwabi_conf
from nova_hwabi import request_filters
from nova_hwabi.testing import inprocess

CONF = nova.conf.CONF
FM, FB = "hw:maxphysaddr_mode", "hw:maxphysaddr_bits"
IM, IB = "hw_maxphysaddr_mode", "hw_maxphysaddr_bits"


def root_required(context, spec) -> set[str]:
    """The traits Nova's flow sends Placement as root_required."""
    request_filter.process_reqspec(context, spec)
    query = scheduler_utils.ResourceRequest.from_request_spec(
        spec
    ).to_querystring()
    values = parse_qs(query).get("root_required", [""])[0]
    return {v for v in values.split(",") if v and not v.startswith("!")}


class TestAddressSpaceRequestFilter(test.TestCase):

    def setUp(self):
        super().setUp()
        self.context = nova_context.get_admin_context()
        # Our options exist on Nova's CONF in a scheduler that loads us;
        # registering here keeps each test independent of the others.
        hwabi_conf.register_opts(CONF)
        self.addCleanup(request_filters.unregister_from_nova)

    def _root_required(self, spec):
        return root_required(self.context, spec)

    def test_not_registered_means_nova_alone(self):
        spec = inprocess.request_spec({FM: "emulate", FB: "46"})
        # Nova adds the address-space trait itself, never the ladder.
        self.flags(require_bits_ladder=True, group="hwabi_scheduler")
        required = self._root_required(spec)
        assert not any(t.startswith("CUSTOM_HWABI") for t in required)

    def test_registered_filter_requires_the_bits_ladder_trait(self):
        request_filters.register_with_nova(CONF)
        self.flags(require_bits_ladder=True, group="hwabi_scheduler")
        spec = inprocess.request_spec({FM: "emulate", FB: "46"})
        assert self._root_required(spec) >= {
            "COMPUTE_ADDRESS_SPACE_EMULATED",
            "CUSTOM_HWABI_MAXPHYSADDR_BITS_46",
        }

    def test_image_request_and_ladder_off(self):
        request_filters.register_with_nova(CONF)
        spec = inprocess.request_spec({}, {IM: "emulate", IB: 44})
        required = self._root_required(spec)
        assert "COMPUTE_ADDRESS_SPACE_EMULATED" in required
        assert "CUSTOM_HWABI_MAXPHYSADDR_BITS_44" not in required

    def test_registering_twice_keeps_one_dispatcher(self):
        first = request_filters.register_with_nova(CONF)
        second = request_filters.register_with_nova(CONF)
        assert first is second
        ours = [f for f in request_filter.ALL_REQUEST_FILTERS
                if isinstance(f, request_filters.RequestFilterDispatcher)]
        assert ours == [first]

    def test_invalid_request_adds_nothing_and_does_not_raise(self):
        request_filters.register_with_nova(CONF)
        self.flags(require_bits_ladder=True, group="hwabi_scheduler")
        # Nova validates the mode itself; bits it does not look at.
        spec = inprocess.request_spec({FM: "emulate", FB: "ninety"})
        assert not any(
            t.startswith("CUSTOM_HWABI") for t in self._root_required(spec)
        )

    def test_unknown_filter_name_is_logged_not_fatal(self):
        request_filters.register_with_nova(CONF)
        self.flags(request_filters=["no_such_filter", "address_space"],
                   require_bits_ladder=True, group="hwabi_scheduler")
        spec = inprocess.request_spec({FM: "emulate", FB: "40"})
        assert "CUSTOM_HWABI_MAXPHYSADDR_BITS_40" in self._root_required(
            spec
        )
        assert "not installed" in self.stdlog.logger.output


SHIPPED_REQUEST_FILTERS = {"address_space", "address_width", "machine_type",
                           "recorded_devices"}


# Every way an installed plugin can fail to load: its module is missing,
# its module raises on import, or the module lacks the named function.
@pytest.mark.parametrize(("target", "reason"), [
    ("hwabi_test_no_such_module:broken_filter", "hwabi_test_no_such_module"),
    ("hwabi_test_raises_on_import:broken_filter", "plugin import failed"),
    ("nova_hwabi.request_filters.address_space:no_such_filter",
     "no_such_filter"),
])
def test_discovery_skips_broken_entry_points(plugin_distribution, caplog,
                                             target, reason):
    plugin_distribution.add_module(
        "hwabi_test_raises_on_import",
        'raise RuntimeError("plugin import failed")\n')
    plugin_distribution.add(request_filters.NAMESPACE, broken=target)
    found = request_filters.load_request_filters()
    assert set(found) == SHIPPED_REQUEST_FILTERS
    (line,) = [r.getMessage() for r in caplog.records
               if r.levelno == logging.ERROR]
    assert line.startswith(
        f"Cannot load nova-hwabi request filter broken ({target}, "
        f"entry point group {request_filters.NAMESPACE}): ")
    assert reason in line


def test_a_failing_filter_does_not_reach_the_scheduler(caplog):
    def explode(conf, ctxt, spec):
        raise RuntimeError("boom")

    conf = nova.conf.CONF
    request_filters.register_with_nova(conf)
    try:
        dispatcher = request_filters.RequestFilterDispatcher(
            conf, {"address_space": explode}
        )
        conf.set_override("request_filters", ["address_space"],
                          group="hwabi_scheduler")
        assert dispatcher(None, inprocess.request_spec()) is False
        assert "failed; the request goes on without it" in caplog.text
    finally:
        conf.clear_override("request_filters", group="hwabi_scheduler")
        request_filters.unregister_from_nova()


class TestMachineTypeRequestFilter(test.TestCase):
    """A move only reaches hosts whose QEMU offers the pinned type."""

    def setUp(self):
        super().setUp()
        self.context = nova_context.get_admin_context()
        hwabi_conf.register_opts(CONF)
        self.addCleanup(request_filters.unregister_from_nova)
        request_filters.register_with_nova(CONF)
        self.flags(request_filters=["address_space", "machine_type"],
                   group="hwabi_scheduler")

    def _root_required(self, spec):
        return root_required(self.context, spec)

    def test_recorded_type_becomes_a_required_trait(self):
        spec = inprocess.request_spec({}, {"hw_machine_type": "pc-q35-7.2"})
        assert "CUSTOM_HWABI_MACHINE_X86_64_PC_Q35_7_2" in (
            self._root_required(spec)
        )

    def test_image_arch_is_used(self):
        spec = inprocess.request_spec({}, {"hw_machine_type": "virt-7.2",
                                           "hw_architecture": "aarch64"})
        assert "CUSTOM_HWABI_MACHINE_AARCH64_VIRT_7_2" in (
            self._root_required(spec)
        )

    def test_no_machine_type_no_trait(self):
        spec = inprocess.request_spec()
        assert not any("HWABI_MACHINE" in t
                       for t in self._root_required(spec))

    def test_not_enabled_by_default(self):
        self.flags(request_filters=["address_space"],
                   group="hwabi_scheduler")
        spec = inprocess.request_spec({}, {"hw_machine_type": "pc-q35-7.2"})
        assert not any("HWABI_MACHINE" in t
                       for t in self._root_required(spec))
