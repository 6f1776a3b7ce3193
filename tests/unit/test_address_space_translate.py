"""translate(): flavor + image maxphysaddr settings to one typed request."""

import pytest

from nova_hwabi import traits
from nova_hwabi.address_space import (
    AddressSpaceRequestError,
    translate,
)

EMU = traits.ADDRESS_SPACE_EMULATED
PT = traits.ADDRESS_SPACE_PASSTHROUGH

FM, FB = "hw:maxphysaddr_mode", "hw:maxphysaddr_bits"
IM, IB = "hw_maxphysaddr_mode", "hw_maxphysaddr_bits"

# flavor extra specs, image properties ->
# (mode, bits, mode_source, bits_source, traits, min_host_bits)
VALID = [
    ({}, {}, (None, None, None, None, set(), None)),
    ({"hw:cpu_policy": "dedicated"}, {"hw_disk_bus": "virtio"},
     (None, None, None, None, set(), None)),
    ({FM: "emulate", FB: "46"}, {},
     ("emulate", 46, "flavor", "flavor", {EMU}, 46)),
    ({}, {IM: "emulate", IB: 40},
     ("emulate", 40, "image", "image", {EMU}, 40)),
    ({FM: "emulate"}, {IB: 42},
     ("emulate", 42, "flavor", "image", {EMU}, 42)),
    ({FM: "emulate", FB: "46"}, {IM: "emulate", IB: "46"},
     ("emulate", 46, "flavor+image", "flavor+image", {EMU}, 46)),
    ({FM: "passthrough"}, {}, ("passthrough", None, "flavor", None, {PT},
                               None)),
    ({}, {IM: "passthrough"}, ("passthrough", None, "image", None, {PT},
                               None)),
    ({FM: " emulate ", FB: " 32 "}, {},
     ("emulate", 32, "flavor", "flavor", {EMU}, 32)),
    ({FM: "emulate", FB: "52"}, {},
     ("emulate", 52, "flavor", "flavor", {EMU}, 52)),
]


@pytest.mark.parametrize(("flavor", "image", "expected"), VALID)
def test_valid_requests(flavor, image, expected):
    request = translate(flavor, image)
    mode, bits, mode_source, bits_source, required, min_bits = expected
    assert request.mode == mode
    assert request.bits == bits
    assert request.mode_source == mode_source
    assert request.bits_source == bits_source
    assert request.required_traits == required
    assert request.min_host_bits == min_bits


def test_none_containers_are_empty_requests():
    assert translate(None, None).required_traits == frozenset()


def test_bits_ladder_adds_the_width_trait():
    request = translate({FM: "emulate", FB: "46"}, {}, bits_ladder=True)
    assert request.required_traits == {EMU, "CUSTOM_HWABI_MAXPHYSADDR_BITS_46"}
    passthrough = translate({FM: "passthrough"}, {}, bits_ladder=True)
    assert passthrough.required_traits == {PT}


def test_legacy_bits_only_is_a_width_without_traits():
    request = translate({FB: "42"}, {}, legacy_bits_only=True)
    assert (request.mode, request.bits, request.min_host_bits) == (
        None, 42, 42
    )
    assert request.required_traits == frozenset()
    assert request.bits_from("flavor") and not request.bits_from("image")


# flavor, image, fragment of the message
INVALID = [
    ({FM: "fast"}, {}, "unknown mode, expected emulate or passthrough"),
    ({FM: ""}, {}, "unknown mode"),
    ({}, {IM: "EMULATE", IB: 40}, "image hw_maxphysaddr_mode = 'EMULATE'"),
    ({FM: "emulate", FB: "abc"}, {}, "expected an integer from 32 to 52"),
    ({FM: "emulate", FB: "4.5"}, {}, "expected an integer"),
    ({FM: "emulate", FB: "0x2e"}, {}, "expected an integer"),
    ({FM: "emulate", FB: "31"}, {}, "= 31: expected 32 to 52"),
    ({FM: "emulate", FB: "53"}, {}, "= 53: expected 32 to 52"),
    ({}, {IM: "emulate", IB: True}, "expected an integer"),
    ({}, {IM: "emulate", IB: 4.5}, "expected an integer"),
    ({FM: "emulate"}, {}, "mode emulate needs a width"),
    ({FB: "46"}, {}, "bits 46 without mode emulate"),
    ({}, {IB: 46}, "image maxphysaddr bits 46 without mode emulate"),
    ({FM: "passthrough", FB: "46"}, {}, "passthrough takes no bits"),
    ({FM: "passthrough"}, {IB: 46}, "remove the image bits"),
    ({FM: "emulate", FB: "46"}, {IM: "passthrough"}, "disagree"),
    ({FM: "emulate", FB: "46"}, {IB: 40}, "= 46 and image "
     "hw_maxphysaddr_bits = 40 disagree"),
]


@pytest.mark.parametrize(("flavor", "image", "fragment"), INVALID)
def test_invalid_requests_say_what_to_change(flavor, image, fragment):
    with pytest.raises(AddressSpaceRequestError) as raised:
        translate(flavor, image)
    assert fragment in str(raised.value)


def test_legacy_mode_still_refuses_real_conflicts():
    with pytest.raises(AddressSpaceRequestError, match="takes no bits"):
        translate({FM: "passthrough", FB: "40"}, {}, legacy_bits_only=True)


class _ImageMetaPropsLike:
    """The get(name, default) interface of Nova's ImageMetaProps."""

    def __init__(self, **fields):
        self._fields = fields

    def get(self, name, default=None):
        return self._fields.get(name, default)


def test_image_properties_object_is_read_through_get():
    props = _ImageMetaPropsLike(hw_maxphysaddr_mode="emulate",
                                hw_maxphysaddr_bits=44)
    request = translate({}, props)
    assert (request.mode, request.bits) == ("emulate", 44)


def test_describe():
    assert translate({}, {}).describe() == "no maxphysaddr request"
    assert translate({FM: "emulate", FB: "46"}, {}).describe() == (
        "mode emulate (flavor), 46 bits (flavor)"
    )
