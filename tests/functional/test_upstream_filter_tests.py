"""The installed Nova's own unit tests for the two filters, run against ours.

The upstream test classes are used unchanged: each setUp builds its filter
from the upstream module attribute, which is pointed at our class for the
duration of the test.
"""

from unittest import mock

from nova.scheduler.filters import (
    compute_capabilities_filter,
    image_props_filter,
)
from nova.tests.unit.scheduler.filters import (
    test_compute_capabilities_filters as upstream_capabilities,
)
from nova.tests.unit.scheduler.filters import (
    test_image_props_filters as upstream_image_props,
)

from nova_hwabi.filters.compute_capabilities import ComputeCapabilitiesFilter
from nova_hwabi.filters.image_properties import ImagePropertiesFilter


def _use_ours(test_case, module, name, cls):
    patcher = mock.patch.object(module, name, cls)
    patcher.start()
    test_case.addCleanup(patcher.stop)


class TestUpstreamComputeCapabilitiesOnOurs(
    upstream_capabilities.TestComputeCapabilitiesFilter
):
    def setUp(self):
        _use_ours(self, compute_capabilities_filter,
                  "ComputeCapabilitiesFilter", ComputeCapabilitiesFilter)
        super().setUp()
        assert type(self.filt_cls) is ComputeCapabilitiesFilter


class TestUpstreamImagePropsOnOurs(upstream_image_props.TestImagePropsFilter):
    def setUp(self):
        _use_ours(self, image_props_filter, "ImagePropertiesFilter",
                  ImagePropertiesFilter)
        super().setUp()
        assert type(self.filt_cls) is ImagePropertiesFilter
