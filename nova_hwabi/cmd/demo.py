"""``nova-hwabi-demo``: the whole maxphysaddr flow on embedded defaults.

Starts a real Placement on 127.0.0.1 (sqlite, temporary directory),
registers the sample hosts shipped with nova-hwabi, syncs their traits and
runs boot requests through the translator, Placement and the host filters;
then records sample guests in Nova's databases, changes the default
machine type from pc to q35, shows what keeps each guest's chipset and
audits them.

Exit codes: :class:`DemoExit`, which ``--help`` lists.
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings

from nova_hwabi.cmd import cli


class DemoExit(cli.ExitCodes):
    """Exit codes of ``nova-hwabi-demo``."""

    OK = 0, "every request and guest ended as expected"
    FAILED = 1, ("a step failed, or a request or guest ended otherwise than "
                 "expected")
    # argparse's own exit for an unknown option or a bad value.
    USAGE = 2, "usage error: an unknown option (one line says which)"


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``nova-hwabi-demo``."""
    parser = argparse.ArgumentParser(
        prog="nova-hwabi-demo",
        description=cli.paragraphs(__doc__.split("\n\n")[1]),
        epilog=cli.exit_codes_epilog(DemoExit),
        formatter_class=cli.HELP_FORMATTER,
    )
    parser.add_argument("--verbose", action="store_true",
                        help="show the filters' and Placement's logs")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.ERROR,
        stream=sys.stderr,
    )
    if not args.verbose:
        # Nova's configuration loads oslo.cache's optional drivers; the
        # memcache one's missing library is no error for the demo.
        logging.getLogger("stevedore.extension").setLevel(logging.CRITICAL)
    # Nova's dependencies announce their own deprecations on import.
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.filterwarnings("ignore", message=r"(?s).*Eventlet is deprecated")
    # Nova chooses its concurrency backend when its first module loads, and
    # the demo's modules import Nova's (futurist would load eventlet).
    from nova_hwabi import compat

    try:
        compat.use_native_threading()
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("nova."):
            raise
        print("nova-hwabi-demo: error: the demo needs Nova and Placement in "
              "this Python environment (%s): pip install 'nova-hwabi[demo]' "
              "-c constraints/nova-34.txt, or run scripts/demo"
              % sys.executable, file=sys.stderr)
        return DemoExit.FAILED
    from nova_hwabi.demo.run import run  # imports Nova: keep --help fast

    # run() says 0 when every step worked and every verdict held.
    return DemoExit.OK if run() == DemoExit.OK else DemoExit.FAILED


if __name__ == "__main__":
    sys.exit(main())
