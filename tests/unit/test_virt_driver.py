"""HwabiLibvirtDriver's own methods, on a driver built without a host.

The Nova-facing overrides are thin; these tests pin down what they do with
what the pure helpers decide: the start-up seam of each Nova release,
per-instance failures, the maxphysaddr rendering and its errors, and the
periodic trait update that must never raise.
"""

import importlib
from types import SimpleNamespace
from unittest import mock

import pytest

# Nova chooses its threading mode when its functional package is imported
# first (see ENVIRONMENT.md); the driver module imports Nova's libvirt
# driver.
importlib.import_module("nova.tests.functional")

from nova import exception  # noqa: E402
from nova.virt import driver as virt_driver  # noqa: E402

from nova_hwabi import compat  # noqa: E402
from nova_hwabi.capabilities import parse_host_capabilities  # noqa: E402
from nova_hwabi.capabilities.samples import load_sample  # noqa: E402
from nova_hwabi.virt import driver as hwabi_driver  # noqa: E402

DEBIAN = load_sample("x86_64-kvm-debian12")


def make_driver(libvirt_version=9000000):
    driver = object.__new__(hwabi_driver.HwabiLibvirtDriver)
    connection = mock.Mock()
    connection.getCapabilities.return_value = DEBIAN.capabilities_xml
    connection.getLibVersion.return_value = libvirt_version
    driver._host = mock.Mock()
    driver._host.get_connection.return_value = connection
    driver._host.get_hostname.return_value = "cmp-1"
    driver._host.list_guests.return_value = []
    driver.capabilities = {}
    return driver


# -- the one place Nova releases differ ------------------------------------

def test_old_seam_loads_instances_once_and_records_them():
    driver = make_driver()
    instances = [mock.Mock(deleted=False, uuid="u1", vm_state="active",
                           system_metadata={})]
    # Plain Mocks throughout, not autospecced from Nova 34's signatures
    # (oslotest makes patches autospec once Nova's fixtures are loaded).
    order = []
    instances[0].save.side_effect = lambda: order.append("ours saved")
    nova = mock.Mock(side_effect=lambda: order.append("nova registers"))
    with mock.patch.object(hwabi_driver.compat, "startup_seam",
                           return_value=compat.SEAM_INIT_HOST), \
            mock.patch.object(
                hwabi_driver.libvirt_driver.LibvirtDriver,
                "_register_all_undefined_instance_details", nova), \
            mock.patch.object(hwabi_driver.objects.InstanceList,
                              "get_by_host",
                              return_value=instances) as get_by_host, \
            mock.patch.object(hwabi_driver.nova_context,
                              "get_admin_context"):
        driver._register_all_undefined_instance_details()
    nova.assert_called_once_with()
    get_by_host.assert_called_once()
    assert instances[0].system_metadata["image_hw_machine_type"]
    instances[0].save.assert_called_once_with()
    # Nova's registration must find ours recorded, as at the other seam.
    assert order == ["ours saved", "nova registers"]


def test_new_seam_hands_nova_only_what_it_must_register():
    driver = make_driver()
    complete = mock.Mock(system_metadata={
        "image_%s" % name: "virtio"
        for name in hwabi_driver.decisions.NOVA_REGISTERED})
    missing = mock.Mock(system_metadata={})
    nova = mock.Mock()
    # The seam as Nova 34 has it, whichever series is installed.
    with mock.patch.object(hwabi_driver.compat, "startup_seam",
                           return_value=compat.SEAM_PROCESS_INSTANCES_AT_STARTUP
                           ), \
            mock.patch.object(
            hwabi_driver.libvirt_driver.LibvirtDriver,
            "_register_all_undefined_instance_details", nova), \
            mock.patch.object(hwabi_driver.objects.InstanceList,
                              "get_by_host") as get_by_host:
        driver._register_all_undefined_instance_details(
            "ctxt", [complete, missing])
    nova.assert_called_once_with("ctxt", [missing])
    get_by_host.assert_not_called()


# -- start-up -------------------------------------------------------------

def test_startup_survives_one_bad_instance_and_saves_only_changed(caplog):
    driver = make_driver()

    class Metadata(dict):
        def get(self, key, default=None):
            if key == "image_hw_architecture":
                raise RuntimeError("broken row")
            return super().get(key, default)

    bad = mock.Mock(deleted=False, uuid="bad", vm_state="active",
                    system_metadata=Metadata())
    good = mock.Mock(deleted=False, uuid="good", vm_state="active",
                     system_metadata={})
    complete = {**{"image_%s" % name: "virtio"
                   for name in hwabi_driver.decisions.NOVA_REGISTERED},
                "image_hw_machine_type": "pc-q35-7.2",
                "hwabi_machine_type": "pc-q35-7.2"}
    done = mock.Mock(deleted=False, uuid="done", vm_state="active",
                     system_metadata=complete)
    unpinned = mock.Mock(deleted=False, uuid="unpinned", vm_state="active",
                         system_metadata={
                             k: v for k, v in complete.items()
                             if k != "hwabi_machine_type"})
    # create: series before Nova 34 have no process_instances_at_startup.
    with mock.patch.object(hwabi_driver.libvirt_driver.LibvirtDriver,
                           "process_instances_at_startup",
                           mock.Mock(side_effect=lambda ctxt, insts: insts),
                           create=True):
        driver.process_instances_at_startup(
            "ctxt", [bad, good, done, unpinned])
    assert good.system_metadata["image_hw_machine_type"]
    # Nova's registration saves good (it lacks Nova's defaults): no second
    # save from us. Only unpinned, which Nova leaves alone, is ours to save.
    good.save.assert_not_called()
    unpinned.save.assert_called_once_with()
    done.save.assert_not_called()
    assert "bad" in caplog.text and "broken row" in caplog.text


# -- maxphysaddr ------------------------------------------------------------

def flavor(**specs):
    return SimpleNamespace(extra_specs=specs)


def image(**properties):
    return SimpleNamespace(properties=properties)


@pytest.mark.parametrize("specs, props, expected", [
    ({}, {}, None),
    ({"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "40"}, {},
     ("emulate", 40)),
    ({}, {"hw_maxphysaddr_mode": "emulate", "hw_maxphysaddr_bits": 39},
     ("emulate", 39)),
    # Bits without a mode: as Nova, no element (the guest keeps running).
    ({"hw:maxphysaddr_bits": "40"}, {}, None),
])
def test_maxphysaddr_rendered_from_the_request(specs, props, expected):
    element = make_driver()._get_guest_cpu_config_maxphysaddr(
        flavor(**specs), image(**props))
    if expected is None:
        assert element is None
    else:
        assert (element.mode, element.bits) == expected


@pytest.mark.parametrize("specs, version, words", [
    ({"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "abc"},
     9000000, "abc"),
    ({"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "52"},
     9000000, "this host has"),
    ({"hw:maxphysaddr_mode": "emulate", "hw:maxphysaddr_bits": "40"},
     8000000, "8.7.0"),
    ({"hw:maxphysaddr_mode": "passthrough"}, 9000000, "host-passthrough"),
])
def test_maxphysaddr_errors_name_the_problem_and_host(specs, version,
                                                       words):
    with pytest.raises(exception.Invalid) as caught:
        make_driver(version)._get_guest_cpu_config_maxphysaddr(
            flavor(**specs), image())
    assert words in str(caught.value) and "cmp-1" in str(caught.value)


# -- periodic traits -----------------------------------------------------

def test_update_provider_tree_never_raises_for_our_part(caplog):
    driver = make_driver()
    tree = mock.Mock()
    tree.data.side_effect = RuntimeError("tree gone")
    with mock.patch.object(hwabi_driver.libvirt_driver.LibvirtDriver,
                           "update_provider_tree", mock.Mock()):
        driver.update_provider_tree(tree, "cmp-1")
    assert "tree gone" in caplog.text


def test_capabilities_follow_our_decision():
    driver = make_driver()
    with mock.patch.object(hwabi_driver.libvirt_driver.LibvirtDriver,
                           "_update_host_specific_capabilities", mock.Mock()):
        driver.capabilities.update(
            supports_address_space_passthrough=True,
            supports_address_space_emulated=True)
        driver._update_host_specific_capabilities()
    # kvm with the default host-model CPU: passthrough cannot work.
    assert driver.capabilities["supports_address_space_passthrough"] is \
        False
    assert driver.capabilities["supports_address_space_emulated"] is True


def test_caps_parse_is_cached():
    driver = make_driver()
    first = driver._hwabi_host_capabilities()
    assert driver._hwabi_host_capabilities() is first
    assert first == parse_host_capabilities(DEBIAN.capabilities_xml)


def test_inherits_nova_driver():
    assert issubclass(hwabi_driver.HwabiLibvirtDriver,
                      virt_driver.ComputeDriver)
