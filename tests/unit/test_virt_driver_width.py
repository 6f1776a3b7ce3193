"""HwabiLibvirtDriver records the address width each time it defines a guest.

A driver built without a host: the guest's domain XML is a captured one,
the host capabilities a captured 48-bit host. The Nova methods the
overrides wrap are replaced; what is checked is that the width is recorded
after each of them, and that a failure never reaches Nova.
"""

import importlib
from unittest import mock

import pytest

importlib.import_module("nova.tests.functional")

from nova_hwabi import address_width as aw  # noqa: E402
from nova_hwabi.virt import driver as hwabi_driver  # noqa: E402
from tests.conftest import (  # noqa: E402
    DOMAINS,
    PASSTHROUGH_48_BITS,
    capabilities_fixture,
)

NOVA = hwabi_driver.libvirt_driver.LibvirtDriver


def make_driver(domain_xml):
    driver = object.__new__(hwabi_driver.HwabiLibvirtDriver)
    connection = mock.Mock()
    connection.getCapabilities.return_value = capabilities_fixture(
        PASSTHROUGH_48_BITS)
    driver._host = mock.Mock()
    driver._host.get_connection.return_value = connection
    driver._host.get_guest.return_value.get_xml_desc.return_value = \
        domain_xml
    return driver


def make_instance(metadata=None):
    instance = mock.Mock(uuid="5d2b0c1e-7a44-4c57-9e5a-0f3a1b2c4602",
                         vm_state="active")
    instance.system_metadata = dict(metadata or {})
    return instance


PASSTHROUGH_XML = (DOMAINS / "pc-passthrough.xml").read_text()
RECORDED_48 = {aw.MODE_KEY: "passthrough", aw.BITS_KEY: "48"}

# id -> (call the override, the Nova method it wraps)
DEFINITIONS = {
    # Nova's signatures in full: oslotest autospecs mocks once nova.test
    # is imported.
    "spawn": (lambda d, i: d.spawn(None, i, None, [], None, {}), "spawn"),
    "finish_migration": (
        lambda d, i: d.finish_migration(None, None, i, "{}", None, None,
                                        False, {}),
        "finish_migration"),
    "finish_revert_migration": (
        lambda d, i: d.finish_revert_migration(None, i, None, None),
        "finish_revert_migration"),
    "hard reboot and power-on": (
        lambda d, i: d._hard_reboot(None, i, None, None),
        "_hard_reboot"),
    "post_live_migration_at_destination": (
        lambda d, i: d.post_live_migration_at_destination(None, i, None),
        "post_live_migration_at_destination"),
}


@pytest.mark.parametrize(("call", "nova_method"), list(DEFINITIONS.values()),
                         ids=list(DEFINITIONS))
def test_each_definition_records_the_width_after_nova(call, nova_method):
    driver = make_driver(PASSTHROUGH_XML)
    instance = make_instance({aw.MODE_KEY: "passthrough",
                              aw.BITS_KEY: "39"})
    seen = {}

    def nova(*args, **kwargs):
        seen["metadata"] = dict(instance.system_metadata)

    with mock.patch.object(NOVA, nova_method, side_effect=nova), \
            mock.patch.object(driver, "_hwabi_check_machine_type"), \
            mock.patch.object(driver, "_hwabi_pin_after_spawn"):
        call(driver, instance)
    assert seen["metadata"][aw.BITS_KEY] == "39"  # recorded after Nova
    assert instance.system_metadata == RECORDED_48


@pytest.mark.parametrize("domain_xml", [
    "<domain type='kvm'><name>no uuid</name></domain>",
    "not xml at all",
], ids=["domain without uuid", "not XML"])
def test_an_unreadable_domain_is_logged_and_changes_nothing(domain_xml,
                                                            caplog):
    driver = make_driver(domain_xml)
    instance = make_instance(RECORDED_48)
    driver._hwabi_record_width(instance)
    assert instance.system_metadata == RECORDED_48
    assert "address width not recorded" in caplog.text


def test_a_guest_without_maxphysaddr_loses_a_stale_record():
    xml = PASSTHROUGH_XML.replace("<maxphysaddr mode='passthrough'/>", "")
    driver = make_driver(xml)
    instance = make_instance({**RECORDED_48, "image_hw_disk_bus": "ide"})
    driver._hwabi_record_width(instance)
    assert instance.system_metadata == {"image_hw_disk_bus": "ide"}
