"""The libvirt compute driver stock nova-compute loads for nova-hwabi.

``compute_driver = hwabi.HwabiLibvirtDriver`` (see the README, "Compute
hosts"). :mod:`nova_hwabi.virt.decisions` holds the pure decisions;
:mod:`nova_hwabi.virt.driver` (imports Nova) applies them inside Nova's
libvirt driver.
"""
