"""Our options beside Nova's in one process, reading one nova.conf.

In the scheduler or compute process Nova has registered [libvirt] on its
global CONF; registering nova-hwabi there must neither clash nor shadow
Nova's definitions, and both must read the same values from nova.conf.
"""

import nova.conf
from nova.conf import libvirt as nova_libvirt

from nova_hwabi import conf as hwabi_conf
from nova_hwabi.capabilities import TraitPolicy


def test_registering_on_novas_conf_keeps_novas_options(tmp_path):
    path = tmp_path / "nova.conf"
    path.write_text(
        "[libvirt]\nvirt_type = qemu\ncpu_mode = host-passthrough\n"
        "[hwabi_capabilities]\nreport_bits_ladder = true\n"
    )
    conf = nova.conf.CONF
    hwabi_conf.register_opts(conf)
    hwabi_conf.register_opts(conf)  # idempotent, as Nova re-imports
    try:
        conf([], project="nova", default_config_files=[str(path)])
        # The option objects in [libvirt] are still Nova's own.
        novas = {opt.dest: opt for opt in nova_libvirt.ALL_OPTS}
        for name in ("virt_type", "cpu_mode", "connection_uri",
                     "hw_machine_type"):
            assert conf._get_opt_info(name, "libvirt")["opt"] is novas[name]
        policy = TraitPolicy.from_conf(conf)
        assert policy.virt_type == "qemu"
        assert policy.cpu_mode == "host-passthrough"
        assert policy.report_bits_ladder is True
    finally:
        conf.clear()


def test_private_conf_reads_the_same_file(tmp_path):
    path = tmp_path / "nova.conf"
    path.write_text("[libvirt]\nvirt_type = qemu\ncpu_mode = custom\n")
    ours = hwabi_conf.new_config()
    ours([], project="nova", default_config_files=[str(path)])
    assert (ours.libvirt.virt_type, ours.libvirt.cpu_mode) == (
        "qemu", "custom"
    )
    # Nova's defaults and ours agree for the options we mirror.
    novas = {opt.dest: opt for opt in nova_libvirt.ALL_OPTS}
    for opt in hwabi_conf.libvirt.LIBVIRT_OPTS:
        assert opt.default == novas[opt.dest].default, opt.dest
        assert type(opt) is type(novas[opt.dest]), opt.dest
        assert list(getattr(opt.type, "choices", None) or ()) == list(
            getattr(novas[opt.dest].type, "choices", None) or ()
        ), opt.dest
