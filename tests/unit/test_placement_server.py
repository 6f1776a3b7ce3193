"""The embedded Placement harness: errors that need no running service."""

import pytest

from nova_hwabi.testing.placement_server import (
    EmbeddedPlacement,
    PlacementAdmin,
    PlacementStartError,
)


@pytest.mark.parametrize("reach", [
    pytest.param(lambda service: service.endpoint, id="endpoint"),
    pytest.param(lambda service: service.keystone_adapter(), id="adapter"),
    pytest.param(lambda service: PlacementAdmin(service).call("GET", "/"),
                 id="admin-call"),
])
def test_unstarted_service_says_start_it_first(tmp_path, reach):
    service = EmbeddedPlacement(tmp_path)
    with pytest.raises(PlacementStartError, match=r"not started: call start"):
        reach(service)
