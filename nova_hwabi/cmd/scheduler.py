"""``nova-hwabi-scheduler``: Nova's scheduler with nova-hwabi request filters.

Exactly ``nova-scheduler`` (same arguments, same ``nova.conf``), except that
nova-hwabi's request filters are appended to Nova's before the service
starts. Run it in place of ``nova-scheduler`` to opt in; the options in
``[hwabi_scheduler]`` choose what the filters require.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Register our request filters with Nova, then run nova-scheduler."""
    import nova.conf
    from nova.cmd import scheduler

    from nova_hwabi.request_filters import register_with_nova

    register_with_nova(nova.conf.CONF)
    scheduler.main()


if __name__ == "__main__":
    sys.exit(main())
