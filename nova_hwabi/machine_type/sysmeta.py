"""The keys of Nova's instance ``system_metadata`` that hold a guest's ABI.

Nova writes ``image_<property>`` for each property of the image an
instance boots from (``nova.utils.get_system_metadata_from_image``, prefix
``SM_IMAGE_PROP_PREFIX``) and reads them back as the instance's image
properties whenever it defines the guest again
(``nova.objects.ImageMeta.from_instance``). Its libvirt driver also
records there the defaults it gave the guest: the machine type
(:data:`RECORDED_KEY`, in ``_configure_guest_by_virt_type``) and the
device buses and models (``REGISTER_IMAGE_PROPERTY_DEFAULTS``).
:data:`PINNED_KEY` is ours: the versioned machine type the guest really
runs, which must survive a QEMU upgrade for the ABI to stay put.

Values are strings, as everything in ``system_metadata``.
"""

IMAGE_PREFIX = "image_"

# Nova's record of the machine type (an alias such as q35, or versioned).
RECORDED_KEY = IMAGE_PREFIX + "hw_machine_type"

# The image's (or Nova's recorded) guest architecture, e.g. x86_64.
ARCH_KEY = IMAGE_PREFIX + "hw_architecture"

# nova-hwabi's pin: the versioned machine type, e.g. pc-q35-7.2.
PINNED_KEY = "hwabi_machine_type"
