"""``nova-hwabi-report``: what a compute host offers, and which traits.

Reads a live host (``--connect``), files saved with ``virsh`` or a sample
host shipped with the package, and prints Nova's cpu_info and the traits
nova-hwabi would export, each with the reason it is or is not reported.

With ``--sync`` it also makes the host's resource provider in Placement
carry exactly the traits nova-hwabi owns, and ``--provider-config FILE``
writes them as a Nova provider config file instead.

Exit codes: :class:`ReportExit`, which ``--help`` lists.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast, overload

from oslo_config import cfg
from oslo_log import log as logging

from nova_hwabi import conf as hwabi_conf
from nova_hwabi import placement
from nova_hwabi import traits as hwabi_traits
from nova_hwabi.capabilities import host_report
from nova_hwabi.capabilities.errors import (
    CapabilitiesError,
    LibvirtConnectionError,
    UnknownSampleError,
)
from nova_hwabi.capabilities.reported_traits import TraitPolicy
from nova_hwabi.capabilities.samples import sample_names
from nova_hwabi.capabilities.versions import LibvirtVersion
from nova_hwabi.cmd import cli
from nova_hwabi.conf import libvirt as libvirt_opts
from nova_hwabi.conf import sources
from nova_hwabi.placement.provider_config import (
    ProviderConfigError,
    provider_config_yaml,
)

LOG = logging.getLogger(__name__)


class ReportExit(cli.ExitCodes):
    """Exit codes of ``nova-hwabi-report``."""

    OK = 0, "report printed (and synced)"
    BAD_DOCUMENT = 1, ("a document could not be used (malformed, hostile, "
                       "wrong kind) or a file could not be read or written; "
                       "also an unexpected error (with a traceback)")
    USAGE = 2, "bad command line or configuration"
    LIBVIRT = 3, "libvirt could not be reached, or libvirt-python is missing"
    PLACEMENT_UNREACHABLE = 4, "--sync: Placement could not be reached"
    PLACEMENT_AUTH = 5, ("--sync: Placement refused the credentials, or "
                         "[placement] auth_type is unset or incomplete")
    NO_PROVIDER = 6, "--sync: no such resource provider"
    PROVIDER_CONFLICT = 7, ("--sync: the provider kept changing (HTTP 409) "
                            "until the retries ran out")
    PLACEMENT_ANSWER = 8, "--sync: Placement answered something unexpected"


# Each kind of Placement failure and its exit code; the first match wins.
PLACEMENT_EXIT_CODES = (
    (placement.PlacementUnreachableError, ReportExit.PLACEMENT_UNREACHABLE),
    (placement.PlacementAuthError, ReportExit.PLACEMENT_AUTH),
    (placement.ProviderNotFoundError, ReportExit.NO_PROVIDER),
    (placement.PlacementConflictError, ReportExit.PROVIDER_CONFLICT),
    (placement.PlacementRequestError, ReportExit.PLACEMENT_ANSWER),
)

# Option groups read here; a wrong value in one is a configuration error
# (exit 2) before anything is read from the host.
CHECKED_GROUPS = ["hwabi_capabilities", "hwabi_scheduler", "libvirt"]

_EPILOG = """\
sources (pick one; the default is --connect):
  --connect URI          a live libvirtd (default: [libvirt] connection_uri,
                         else qemu:///system); needs libvirt-python
  --capabilities FILE    saved 'virsh capabilities' output, with
                         --libvirt-version X.Y.Z ('virsh version') and
                         optionally --domcapabilities FILE (repeatable)
  --sample NAME          a sample host shipped with nova-hwabi
                         (--list-samples shows them)

placement (credentials from [placement] in nova.conf, as nova-compute):
  --sync [--provider NAME_OR_UUID] [--dry-run] [--interval SECONDS]
  --provider-config FILE  write the custom traits as a Nova provider config

""" + cli.exit_codes_epilog(ReportExit)

CLI_OPTS = [
    cfg.StrOpt("connect", metavar="URI",
               help="libvirt URI of the host to read."),
    cfg.StrOpt("capabilities", metavar="FILE",
               help="Read 'virsh capabilities' output from FILE."),
    cfg.MultiStrOpt("domcapabilities", metavar="FILE", default=[],
                    help="Read 'virsh domcapabilities' output from FILE "
                    "(repeatable; with --capabilities)."),
    cfg.StrOpt("libvirt-version", metavar="X.Y.Z",
               help="libvirt version of the host the files come from "
               "(required with --capabilities; files do not carry it)."),
    cfg.StrOpt("hostname", metavar="NAME",
               help="Hypervisor hostname to show for files."),
    cfg.StrOpt("sample", metavar="NAME",
               help="Report on a sample host shipped with nova-hwabi."),
    cfg.BoolOpt("list-samples", default=False,
                help="List the shipped sample hosts and exit."),
    cfg.StrOpt("format", default="table", choices=("table", "json"),
               help="Output format."),
    cfg.BoolOpt("sync", default=False,
                help="Make the host's resource provider in Placement carry "
                "the traits nova-hwabi owns (others are left alone)."),
    cfg.StrOpt("provider", metavar="NAME_OR_UUID",
               help="Resource provider to sync or to name in the provider "
               "config (default: the hypervisor hostname, as Nova names "
               "compute node providers). For Nova's every-local-node "
               "sentinel write $$COMPUTE_NODE: oslo.config expands a "
               "single $."),
    cfg.BoolOpt("dry-run", default=False,
                help="With --sync: show the change, write nothing."),
    cfg.IntOpt("interval", metavar="SECONDS", min=1,
               help="With --sync: read the host and sync again every "
               "SECONDS until stopped (SIGTERM or Ctrl-C)."),
    cfg.StrOpt("provider-config", metavar="FILE",
               help="Write the custom traits as a Nova provider config "
               "file ([compute] provider_config_location)."),
]


class UsageError(Exception):
    """The command line asks for something that cannot be done."""


class _ConfigOpts(cfg.ConfigOpts):
    """oslo.config's ConfigOpts whose --help keeps the epilog's layout.

    oslo.config builds its argparse parser with argparse's default
    formatter, which re-flows the epilog into one paragraph; it has no
    argument for another formatter, so it is set right after the parser
    is made (``_pre_setup``, oslo.config's own step).
    """

    def _pre_setup(self, *args: Any, **kwargs: Any,
                   ) -> tuple[str, list[str], list[str]]:
        result = super()._pre_setup(*args, **kwargs)
        # A private attribute: should a later oslo.config drop it, --help
        # only loses the epilog's layout, the command keeps working.
        parser = getattr(self, "_oparser", None)
        if isinstance(parser, argparse.ArgumentParser):
            parser.formatter_class = cli.HELP_FORMATTER
        return result


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``nova-hwabi-report``; returns the exit code."""
    conf = _ConfigOpts()
    hwabi_conf.register_opts(conf)
    conf.register_cli_opts(CLI_OPTS)
    logging.register_options(conf)
    # stdout carries the report (possibly JSON); log lines go to stderr.
    conf.set_default("use_stderr", True)
    irregular = sources.irregular_config_file(
        sys.argv[1:] if argv is None else argv)
    if irregular:
        return _fail(ReportExit.USAGE, irregular)
    try:
        conf(
            sys.argv[1:] if argv is None else argv,
            project="nova",
            prog="nova-hwabi-report",
            description=cli.paragraphs(
                "Show what a compute host offers to nova-hwabi: Nova's "
                "cpu_info and the traits it would export."),
            epilog=_EPILOG,
        )
    except cfg.Error as exc:
        return _fail(ReportExit.USAGE, sources.file_error(exc))
    except sources.UNREADABLE_FILE_ERRORS as exc:
        return _fail(ReportExit.USAGE, sources.unreadable_file_error(
            sys.argv[1:] if argv is None else argv, exc))
    except SystemExit as exc:
        # argparse has said why (--help exits 0); a bad value given on the
        # command line (--format yaml, --interval 0) exits 1 there.
        return ReportExit.OK if exc.code in (0, None) else ReportExit.USAGE
    try:
        sources.validate(conf, CHECKED_GROUPS)
    except sources.InvalidOptionError as exc:
        return _fail(ReportExit.USAGE, exc)
    logging.setup(conf, "nova-hwabi")
    try:
        return _run(conf)
    except UsageError as exc:
        return _fail(ReportExit.USAGE, exc)
    except (cfg.Error, UnknownSampleError) as exc:
        return _fail(ReportExit.USAGE, exc)
    except CapabilitiesError as exc:
        return _fail(ReportExit.BAD_DOCUMENT, exc)
    except OSError as exc:
        return _fail(ReportExit.BAD_DOCUMENT, "cannot access %s: %s" % (
            exc.filename, exc.strerror,
        ))
    except LibvirtConnectionError as exc:
        # Only this command can read saved XML instead of a live host.
        return _fail(ReportExit.LIBVIRT, "%s (or report on saved XML: "
                     "--capabilities FILE --libvirt-version X.Y.Z)" % exc)
    except ProviderConfigError as exc:
        return _fail(ReportExit.USAGE, exc)
    except placement.PlacementError as exc:
        return _fail(placement_exit_code(exc), exc)


def placement_exit_code(exc: placement.PlacementError) -> ReportExit:
    """The exit code of ``nova-hwabi-report`` for a Placement failure."""
    for kind, code in PLACEMENT_EXIT_CODES:
        if isinstance(exc, kind):
            return code
    return ReportExit.PLACEMENT_UNREACHABLE


def _fail(code: int, message: object) -> int:
    print("nova-hwabi-report: error: %s" % message, file=sys.stderr)
    return code


def _run(conf: cfg.ConfigOpts) -> int:
    if conf.list_samples:
        others = [name for name in ("sample", "connect", "capabilities")
                  if conf[name]] + (["sync"] if conf.sync else [])
        if others:
            raise UsageError("--list-samples lists the shipped samples "
                             "and reports on none: drop --%s"
                             % " and --".join(others))
        names = sample_names()
        cli.Output(conf.format).emit(names, names)
        return ReportExit.OK
    _check_sync_options(conf)
    client = placement.PlacementClient.from_conf(conf) if conf.sync else None
    if conf.interval:
        # _check_sync_options refused --interval without --sync, so there
        # is a client here.
        return _run_forever(conf, cast(placement.PlacementClient, client))
    report, result = _report_and_sync(conf, client)
    _output(conf, report, result)
    return ReportExit.OK


def _check_sync_options(conf: cfg.ConfigOpts) -> None:
    for name in ("dry_run", "interval"):
        if conf[name] and not conf.sync:
            raise UsageError("--%s goes with --sync" % name.replace("_", "-"))
    if conf.provider and not (conf.sync or conf.provider_config):
        raise UsageError("--provider goes with --sync or --provider-config")
    if conf.provider_config and not conf.provider_config.endswith(".yaml"):
        raise UsageError(
            "--provider-config %s: nova-compute only reads *.yaml files in "
            "[compute] provider_config_location" % conf.provider_config
        )


@overload
def _report_and_sync(
    conf: cfg.ConfigOpts, client: placement.PlacementClient
) -> tuple[host_report.HostReport, placement.SyncResult]: ...


@overload
def _report_and_sync(
    conf: cfg.ConfigOpts, client: None
) -> tuple[host_report.HostReport, None]: ...


def _report_and_sync(
    conf: cfg.ConfigOpts, client: placement.PlacementClient | None
) -> tuple[host_report.HostReport, placement.SyncResult | None]:
    """The host's report, and what the sync did when there is a client."""
    documents, policy = _documents(conf, TraitPolicy.from_conf(conf))
    report = host_report.build_report(
        documents, policy, max_bytes=conf.hwabi_capabilities.max_xml_bytes
    )
    if conf.provider_config:
        _write_provider_config(conf, report)
    if client is None:
        return report, None
    provider = client.provider(_provider_name(conf, report))
    result = placement.sync_provider_traits(
        client, provider, report.traits.traits,
        owned=_owned(conf), dry_run=conf.dry_run,
    )
    return report, result


def _provider_name(conf: cfg.ConfigOpts,
                   report: host_report.HostReport) -> str:
    name: str | None = conf.provider or report.hypervisor_hostname
    if not name:
        raise UsageError(
            "--sync needs --provider (or --hostname with --capabilities): "
            "saved files do not name their host"
        )
    return name


def _owned(conf: cfg.ConfigOpts) -> Callable[[str], bool]:
    if conf.hwabi_capabilities.sync_address_space_traits:
        return hwabi_traits.is_owned
    return hwabi_traits.is_owned_custom


def _write_provider_config(conf: cfg.ConfigOpts,
                           report: host_report.HostReport) -> None:
    provider = conf.provider or report.hypervisor_hostname
    if not provider:
        raise UsageError("--provider-config needs --provider or --hostname")
    document = provider_config_yaml(provider, report.traits.traits,
                                    report.source)
    Path(conf.provider_config).write_text(document)
    LOG.info("Wrote %s for provider %s", conf.provider_config, provider)


def _output(conf: cfg.ConfigOpts, report: host_report.HostReport,
            result: placement.SyncResult | None) -> None:
    data = report.to_dict()
    lines = [format_table(report)]
    if result is not None:
        data["sync"] = result.to_dict()
        lines += ["", "placement: " + result.describe()]
    # The report's keys in its own order (cpu_info as Nova builds it).
    cli.Output(conf.format, sort_keys=False).emit(data, lines)


def _run_forever(conf: cfg.ConfigOpts,
                 client: placement.PlacementClient) -> int:
    """Re-read and re-sync every --interval seconds until signalled.

    A failed round (Placement down, libvirt restarting) is logged and the
    next round tries again: nothing is lost, the next success converges.
    """
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    while not stop.is_set():
        try:
            _, result = _report_and_sync(conf, client)
            LOG.info("placement: %s", result.describe())
        except (placement.PlacementError, LibvirtConnectionError,
                CapabilitiesError, OSError) as exc:
            LOG.error("Sync failed, retrying in %ds: %s", conf.interval, exc)
        stop.wait(conf.interval)
    LOG.info("Stopped")
    return ReportExit.OK


def _documents(
    conf: cfg.ConfigOpts, policy: TraitPolicy
) -> tuple[host_report.HostDocuments, TraitPolicy]:
    chosen = [
        name for name in ("connect", "capabilities", "sample")
        if conf[name]
    ]
    if len(chosen) > 1:
        raise UsageError(
            "choose one source: --%s" % " or --".join(chosen)
        )
    if conf.capabilities:
        return _file_documents(conf), policy
    # These describe saved files; a sample or a live host carries its own,
    # so accepting them there would silently report something else.
    misplaced = [
        "--" + name for name in ("domcapabilities", "libvirt-version",
                                 "hostname")
        if conf[name.replace("-", "_")]
    ]
    if misplaced:
        raise UsageError(
            "%s: %s only with --capabilities (saved files); a sample or a "
            "live host reports its own" % (
                ", ".join(misplaced),
                "goes" if len(misplaced) == 1 else "go")
        )
    if conf.sample:
        return host_report.read_sample(conf.sample, policy)
    uri = conf.connect or libvirt_opts.connection_uri(conf)
    return host_report.read_live(uri, policy.virt_type), policy


def _file_documents(conf: cfg.ConfigOpts) -> host_report.HostDocuments:
    if not conf.libvirt_version:
        raise UsageError(
            "--capabilities needs --libvirt-version X.Y.Z (see "
            "'virsh version' on that host): traits depend on it"
        )
    try:
        version = LibvirtVersion.parse(conf.libvirt_version)
    except CapabilitiesError as exc:
        raise UsageError(str(exc)) from None
    return host_report.read_files(
        Path(conf.capabilities),
        tuple(Path(p) for p in conf.domcapabilities),
        version,
        conf.hostname,
    )


def _maxphysaddr_text(maxphysaddr: dict[str, Any] | None) -> str:
    # A host CPU may report <maxphysaddr mode='passthrough'/> without bits
    # (cpu_info keeps "bits": null, as Nova's does).
    if maxphysaddr is None:
        return "not reported"
    if maxphysaddr["bits"] is None:
        return "%s, bits not reported" % maxphysaddr["mode"]
    return "%s, %s bits" % (maxphysaddr["mode"], maxphysaddr["bits"])


def format_table(report: host_report.HostReport) -> str:
    """A human-readable rendering of ``report``."""
    info = report.cpu_info
    topology = info["topology"]
    maxphysaddr = info.get("maxphysaddr")
    rows = [
        ("host", "%s (libvirt %s, from %s)" % (
            report.hypervisor_hostname or "-", report.libvirt_version,
            report.source,
        )),
        ("cpu", "%s %s (%s)" % (
            info["arch"], info["model"] or "-", info["vendor"] or "-",
        )),
        ("topology", "%s cell(s), %s socket(s) x %s core(s) x %s thread(s)"
         % (topology["cells"], topology["sockets"], topology["cores"],
            topology["threads"])),
        ("maxphysaddr", _maxphysaddr_text(maxphysaddr)),
        ("features", "%d" % len(info["features"])),
    ]
    for guest in report.capabilities.guests:
        aliases = ", ".join(
            "%s=%s" % (m.name, m.canonical)
            for m in guest.machines if m.is_alias
        )
        deprecated = sorted(m.name for m in guest.machines
                            if m.deprecated and not m.is_alias)
        rows.append(("guest %s" % guest.arch, "%s; %d machines%s%s" % (
            "/".join(guest.domain_types), len(guest.machines),
            "; " + aliases if aliases else "",
            "; deprecated: " + ", ".join(deprecated) if deprecated else "",
        )))
    for caps in report.domain_capabilities:
        limit = caps.maxphysaddr_limit
        rows.append(("domcaps %s/%s" % (caps.arch, caps.domain_type),
                     "%s; host-model %s%s" % (
                         caps.machine or "-",
                         caps.host_model.model if caps.host_model else "-",
                         "" if limit is None
                         else "; passthrough limit %d bits" % limit,
                     )))
    width = max(len(name) for name, _ in rows)
    lines = ["%-*s  %s" % (width, name, value) for name, value in rows]
    lines.append("")
    lines.append("trait decisions:")
    for decision in report.traits.decisions:
        lines.append("  %-40s %-12s %s" % (
            decision.trait,
            "reported" if decision.reported else "not reported",
            decision.reason,
        ))
    lines.append("")
    lines.append("traits (%d):" % len(report.traits.traits))
    lines.extend("  " + trait for trait in sorted(report.traits.traits))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
