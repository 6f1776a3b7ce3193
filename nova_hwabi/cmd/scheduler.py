"""``nova-hwabi-scheduler``: Nova's scheduler with nova-hwabi request filters.

Exactly ``nova-scheduler`` (same arguments, same ``nova.conf``), except that
nova-hwabi's request filters are appended to Nova's before the service
starts. Run it in place of ``nova-scheduler`` to opt in; the options in
``[hwabi_scheduler]`` choose what the filters require.
"""

from __future__ import annotations

import importlib


def main() -> None:
    """Register our request filters with Nova, then run nova-scheduler."""
    # Nova's scheduler module chooses its concurrency backend (eventlet or
    # threads) when it is imported and refuses to start if eventlet was
    # imported before, so it must be the first Nova module loaded here;
    # import_module keeps import sorting from moving it.
    nova_scheduler = importlib.import_module("nova.cmd.scheduler")
    conf = importlib.import_module("nova.conf").CONF
    from nova_hwabi.request_filters import register_with_nova

    register_with_nova(conf)
    nova_scheduler.main()


if __name__ == "__main__":
    # main() returns only when nova-scheduler stopped normally: exit 0, as
    # the console script does.
    main()
