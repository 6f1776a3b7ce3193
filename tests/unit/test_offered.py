"""Recorded device values to Nova's traits, and the Placement cache."""

import pytest

from nova_hwabi import traits
from nova_hwabi.machine_type import offered


@pytest.mark.parametrize("name, value, trait", [
    # As Nova's transform_image_metadata maps image properties.
    ("hw_video_model", "qxl", "COMPUTE_GRAPHICS_MODEL_QXL"),
    ("hw_video_model", "virtio", "COMPUTE_GRAPHICS_MODEL_VIRTIO"),
    ("hw_video_model", "none", "COMPUTE_GRAPHICS_MODEL_NONE"),
    ("hw_disk_bus", "virtio", "COMPUTE_STORAGE_BUS_VIRTIO"),
    ("hw_disk_bus", "sata", "COMPUTE_STORAGE_BUS_SATA"),
    ("hw_cdrom_bus", "ide", "COMPUTE_STORAGE_BUS_IDE"),
    ("hw_vif_model", "e1000e", "COMPUTE_NET_VIF_MODEL_E1000E"),
    ("hw_vif_model", "spapr-vlan", "COMPUTE_NET_VIF_MODEL_SPAPR_VLAN"),
    # Normalised first, as image-property set stores values.
    ("hw_vif_model", "VirtualE1000", "COMPUTE_NET_VIF_MODEL_E1000"),
    ("hw_video_model", " QXL ", "COMPUTE_GRAPHICS_MODEL_QXL"),
    # No trait family in Nova for these properties.
    ("hw_pointer_model", "usbtablet", None),
    ("hw_input_bus", "usb", None),
    ("hw_machine_type", "q35", None),
    # Values os-traits has no trait for, and non-values.
    ("hw_video_model", "junk", None),
    ("hw_disk_bus", "", None),
    ("hw_disk_bus", None, None),
])
def test_device_trait(name, value, trait):
    assert offered.device_trait(name, value) == trait


def test_device_traits_from_system_metadata():
    assert offered.device_traits({
        "image_hw_video_model": "qxl", "image_hw_disk_bus": "virtio",
        "image_hw_pointer_model": "usbtablet", "hw_video_model": "vga",
        "image_hw_vif_model": "junk",
    }) == {"hw_video_model": ("qxl", "COMPUTE_GRAPHICS_MODEL_QXL"),
           "hw_disk_bus": ("virtio", "COMPUTE_STORAGE_BUS_VIRTIO")}


class FakeClient:
    """Counts calls; knows one custom trait."""

    def __init__(self, counts, custom):
        self.counts, self.custom, self.calls = counts, custom, []

    def providers_with_trait(self, trait):
        self.calls.append(("providers", trait))
        assert not trait.startswith("CUSTOM_") or trait in self.custom, (
            "Placement answers 400 for an unknown trait")
        return self.counts.get(trait, 0)

    def existing_traits(self, prefix):
        self.calls.append(("existing", prefix))
        return {t for t in self.custom if t.startswith(prefix)}


def test_offers_ask_once_and_never_for_unknown_custom_traits():
    known = traits.machine_type_trait("x86_64", "pc-q35-7.2")
    unknown = traits.machine_type_trait("x86_64", "pc-q35-2.0")
    deprecated = traits.deprecated_machine_type_trait("x86_64", "pc-q35-7.2")
    client = FakeClient({known: 2, "COMPUTE_GRAPHICS_MODEL_QXL": 1},
                        {known})
    offers = offered.Offers(client)
    assert offers.hosts_with(known) == 2
    assert offers.hosts_with(known) == 2
    assert offers.hosts_with(unknown) == 0
    assert offers.hosts_with(deprecated) == 0
    assert offers.hosts_with("COMPUTE_GRAPHICS_MODEL_QXL") == 1
    assert offers.hosts_with("COMPUTE_GRAPHICS_MODEL_QXL") == 1
    providers = [c for c in client.calls if c[0] == "providers"]
    assert providers == [("providers", known),
                         ("providers", "COMPUTE_GRAPHICS_MODEL_QXL")]
    assert offers.reports_machine_types()


@pytest.mark.parametrize("metadata, arch, counts, expected", [
    ({"image_hw_video_model": "qxl"}, "x86_64",
     {"COMPUTE_STORAGE_BUS_VIRTIO": 1},
     ["no compute host offers hw_video_model=qxl "
      "(COMPUTE_GRAPHICS_MODEL_QXL)"]),
    ({"image_hw_video_model": "qxl"}, "x86_64",
     {"COMPUTE_STORAGE_BUS_VIRTIO": 1, "COMPUTE_GRAPHICS_MODEL_QXL": 1}, []),
    # No host reports device traits at all: nothing can be told.
    ({"image_hw_video_model": "qxl"}, "x86_64", {}, []),
    ({"hwabi_machine_type": "pc-q35-2.0"}, "x86_64", {},
     ["no compute host offers machine type pc-q35-2.0 for x86_64 "
      "(CUSTOM_HWABI_MACHINE_X86_64_PC_Q35_2_0)"]),
    # An alias needs no particular host; no arch, no machine-type check.
    ({"image_hw_machine_type": "q35"}, "x86_64", {}, []),
    ({"hwabi_machine_type": "pc-q35-2.0"}, None, {}, []),
])
def test_unoffered(metadata, arch, counts, expected):
    known = traits.machine_type_trait("x86_64", "pc-q35-7.2")
    client = FakeClient(dict(counts, **{known: 1}), {known})
    assert offered.unoffered(offered.Offers(client), metadata,
                             arch) == expected


class FailingClient(FakeClient):
    def existing_traits(self, prefix):
        from nova_hwabi.placement import PlacementUnreachableError

        raise PlacementUnreachableError("connection refused")


def _machine_offers(monkeypatch, client):
    from nova_hwabi import placement

    monkeypatch.setattr(placement.PlacementClient, "from_conf",
                        classmethod(lambda cls, conf: client))
    return offered.MachineTypeOffers(conf=None)


X86_Q35_8 = traits.machine_type_trait("x86_64", "pc-q35-8.2")
X86_Q35_7 = traits.machine_type_trait("x86_64", "pc-q35-7.2")
ARM_VIRT = traits.machine_type_trait("aarch64", "virt-8.2")


@pytest.mark.parametrize("custom, counts, arch, machine, answer, skipped", [
    # Hosts report x86_64 machine types: offered by one, or by none.
    ({X86_Q35_8}, {X86_Q35_8: 1}, "x86_64", "pc-q35-8.2", {"pc-q35-8.2"},
     None),
    ({X86_Q35_8}, {X86_Q35_8: 1}, "x86_64", "pc-q35-7.2", set(), None),
    # The trait exists but no provider carries it any more.
    ({X86_Q35_8, X86_Q35_7}, {X86_Q35_8: 1}, "x86_64", "pc-q35-7.2",
     set(), None),
    # No host reports aarch64's: cannot tell, and says why.
    ({X86_Q35_8}, {X86_Q35_8: 1}, "aarch64", "virt-8.2", None,
     "no compute host reports its aarch64 machine types"),
    ({ARM_VIRT}, {ARM_VIRT: 2}, "aarch64", "virt-8.2", {"virt-8.2"}, None),
    (set(), {}, "x86_64", "pc-q35-8.2", None,
     "no compute host reports its x86_64 machine types"),
])
def test_machine_type_offers(monkeypatch, custom, counts, arch, machine,
                             answer, skipped):
    client = FakeClient(counts, custom)
    offers = _machine_offers(monkeypatch, client)
    assert offers(arch, machine) == answer
    assert offers.skipped == skipped or skipped in offers.skipped
    calls = len(client.calls)
    assert offers(arch, machine) == answer
    assert len(client.calls) == calls  # cached


def test_machine_type_offers_without_placement(monkeypatch):
    from nova_hwabi import placement

    def unusable(cls, conf):
        raise placement.PlacementAuthError("[placement] auth_type is not set")

    monkeypatch.setattr(placement.PlacementClient, "from_conf",
                        classmethod(unusable))
    offers = offered.MachineTypeOffers(conf=None)
    assert offers.skipped is None  # nothing asked yet: nothing to say
    assert offers("x86_64", "pc-q35-8.2") is None
    assert offers.skipped == "[placement] auth_type is not set"


def test_machine_type_offers_when_placement_fails(monkeypatch):
    offers = _machine_offers(monkeypatch, FailingClient({}, set()))
    assert offers("x86_64", "pc-q35-8.2") is None
    assert offers.skipped == "Placement failed: connection refused"
