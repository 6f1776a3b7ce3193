"""Shim so stock nova-compute can load nova-hwabi's libvirt driver.

Nova's ``load_compute_driver`` imports ``nova.virt.<compute_driver>`` and
nothing else, so ``[DEFAULT] compute_driver = hwabi.HwabiLibvirtDriver``
needs this module inside Nova's ``nova/virt/``. The nova-hwabi wheel
installs only this file there (never ``nova/__init__.py`` nor
``nova/virt/__init__.py``, which are Nova's); the driver lives in
:mod:`nova_hwabi.virt.driver`.
"""

from nova_hwabi.virt.driver import HwabiLibvirtDriver

__all__ = ["HwabiLibvirtDriver"]
