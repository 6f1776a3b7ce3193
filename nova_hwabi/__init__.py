"""nova-hwabi: keep Nova guests' virtual hardware ABI stable and schedulable.

Parts (see README.md): ``capabilities`` (libvirt XML in, cpu_info and host
traits out), ``request_filters`` (request spec to required traits),
``filters`` (scheduler host filters), ``machine_type`` (recording hooks and
admin operations), ``validators`` (flavor extra-spec validators), ``conf``
(oslo.config options) and ``cmd`` (console scripts).
"""
