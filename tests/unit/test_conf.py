"""Options: the checked-in sample is current, groups register cleanly."""

import subprocess
import sys
from pathlib import Path

import pytest
from oslo_config import cfg

from nova_hwabi import conf as hwabi_conf
from nova_hwabi.conf import libvirt as libvirt_opts

ROOT = Path(__file__).resolve().parents[2]
GENERATOR_CONF = ROOT / "etc/nova-hwabi/nova-hwabi-config-generator.conf"
SAMPLE = ROOT / "etc/nova-hwabi/nova-hwabi.conf.sample"


def test_sample_config_is_current(tmp_path):
    generated = tmp_path / "sample.conf"
    subprocess.run(
        [sys.executable, "-m", "oslo_config.generator",
         "--config-file", str(GENERATOR_CONF),
         "--output-file", str(generated)],
        check=True, cwd=ROOT,
    )
    assert generated.read_text() == SAMPLE.read_text(), (
        "etc/nova-hwabi/nova-hwabi.conf.sample is stale: run "
        "oslo-config-generator --config-file %s" % GENERATOR_CONF.relative_to(
            ROOT
        )
    )


def test_every_own_option_is_in_the_sample():
    text = SAMPLE.read_text()
    for group, opts in hwabi_conf.list_opts():
        assert "[%s]" % group.name in text
        for opt in opts:
            assert "#%s =" % opt.dest in text


def test_registering_twice_is_harmless():
    conf = hwabi_conf.new_config()
    hwabi_conf.register_opts(conf)
    conf([], default_config_files=[])
    assert conf.hwabi_capabilities.max_xml_bytes == 4 * 1024 * 1024


def test_nova_options_read_from_nova_conf(tmp_path):
    path = tmp_path / "nova.conf"
    path.write_text("[libvirt]\nvirt_type = qemu\ncpu_mode = custom\n"
                    "hw_machine_type = x86_64=q35,aarch64=virt\n")
    conf = hwabi_conf.new_config()
    conf([], default_config_files=[str(path)])
    assert conf.libvirt.virt_type == "qemu"
    assert libvirt_opts.effective_cpu_mode(conf) == "custom"
    assert conf.libvirt.hw_machine_type == ["x86_64=q35", "aarch64=virt"]
    assert libvirt_opts.connection_uri(conf) == "qemu:///system"


def test_nova_defaults():
    conf = hwabi_conf.new_config()
    conf([], default_config_files=[])
    assert libvirt_opts.effective_cpu_mode(conf) == "host-model"
    conf.set_override("virt_type", "lxc", group="libvirt")
    assert libvirt_opts.effective_cpu_mode(conf) == "none"
    assert libvirt_opts.connection_uri(conf) == "lxc:///"


def test_new_config_does_not_touch_global_conf():
    before = sorted(cfg.CONF)
    conf = hwabi_conf.new_config()
    assert "hwabi_capabilities" in conf
    assert sorted(cfg.CONF) == before


def test_default_guest_arch_choices_are_novas():
    from nova.objects import fields

    from nova_hwabi.conf import scheduler

    assert set(scheduler.GUEST_ARCHES) == set(fields.Architecture.ALL)


def test_default_guest_arch_refuses_a_name_nova_does_not_know(tmp_path):
    conf_file = tmp_path / "nova.conf"
    conf_file.write_text("[hwabi_scheduler]\ndefault_guest_arch = amd64\n")
    conf = cfg.ConfigOpts()
    hwabi_conf.register_opts(conf)
    conf(["--config-file", str(conf_file)])
    with pytest.raises(ValueError, match="amd64") as raised:
        _ = conf.hwabi_scheduler.default_guest_arch
    assert "x86_64" in str(raised.value)
