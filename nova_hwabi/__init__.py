"""nova-hwabi: keep Nova guests' virtual hardware ABI stable and schedulable.

Parts (see doc/source/contributor): ``capabilities`` (libvirt XML in,
cpu_info and host traits out), ``placement`` (those traits onto resource
providers), ``request_filters`` (request spec to required traits),
``filters`` (scheduler host filters), ``machine_type`` (recording hooks and
admin operations), ``virt`` (the libvirt compute driver nova-compute
loads), ``validators`` (flavor extra-spec validators), ``conf``
(oslo.config options), ``cmd`` (console scripts), ``demo`` (the end-to-end
demo) and ``testing`` (the harness of the tests, benchmarks and demo).
Shared by several parts: ``address_space`` (the maxphysaddr request),
``address_width`` (a guest's width across moves), ``traits`` (trait
names), ``values`` (whole numbers from outside) and ``compat`` (the
differences between Nova series).
"""
