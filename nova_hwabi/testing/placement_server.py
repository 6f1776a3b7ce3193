"""A real Placement service on 127.0.0.1 with sqlite, and how to reach it.

Used by the demo, the functional tests and the benchmarks.
:class:`EmbeddedPlacement` runs openstack-placement's own WSGI application
with ``auth_strategy = noauth2`` (the token ``admin`` has the admin role)
in a process of its own, served by the standard library's threading WSGI
server; run as a module it serves until killed and prints ``READY <port>``
once it listens. Around it:

- :class:`PlacementAdmin`, plain HTTP with the admin token, to set up and
  inspect providers independently of the code under test;
- :func:`write_nova_conf`, the ``nova.conf`` whose ``[placement]``
  section reaches the service as keystoneauth1 does, and
  :func:`load_hwabi_conf` / :func:`hwabi_conf_for`, nova-hwabi's options
  read from it;
- :class:`RecordingAdapter`, a keystoneauth adapter wrapper recording every
  request sent, so request counts are checked on the wire.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import requests
from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import session as ks_session
from keystoneauth1 import token_endpoint
from oslo_config import cfg

if TYPE_CHECKING:
    from nova_hwabi.placement import PlacementClient

# noauth2 gives the admin role to this token only; not a secret.
ADMIN_TOKEN = "admin"  # noqa: S105
PLACEMENT_CONF = """[DEFAULT]
debug = False
[api]
auth_strategy = noauth2
[placement_database]
connection = sqlite:///{db}
"""


class PlacementStartError(RuntimeError):
    """The embedded Placement did not come up."""


class _HasUuid(Protocol):
    @property
    def uuid(self) -> str: ...


# A resource provider as PlacementAdmin takes it: its UUID, Placement's
# JSON for it, or anything with a ``uuid`` (ours or Nova's objects).
Provider: TypeAlias = "str | dict[str, Any] | _HasUuid"


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Access logs would drown the demo's output."""


class EmbeddedPlacement:
    """Start, reach and stop a Placement service on 127.0.0.1."""

    def __init__(self, workdir: Path | None = None) -> None:
        self._tempdir = None
        if workdir is None:
            self._tempdir = tempfile.TemporaryDirectory(
                prefix="hwabi-placement-"
            )
            workdir = Path(self._tempdir.name)
        self.workdir = Path(workdir)
        self.process: subprocess.Popen[str] | None = None
        self.port: int | None = None

    @property
    def log_path(self) -> Path:
        """Where the service's own log goes."""
        return self.workdir / "placement.log"

    @property
    def endpoint(self) -> str:
        """The service's base URL; PlacementStartError before start()."""
        if self.port is None:
            raise PlacementStartError(
                "Placement is not started: call start() (or use it as a "
                "context manager) before asking for its endpoint")
        return "http://127.0.0.1:%d" % self.port

    def keystone_adapter(self) -> ks_adapter.Adapter:
        """A keystoneauth1 adapter for ``service_type=placement`` with the
        admin token, what ``PlacementClient`` takes."""
        session = ks_session.Session(
            auth=token_endpoint.Token(self.endpoint, ADMIN_TOKEN))
        return ks_adapter.Adapter(session, service_type="placement")

    def start(self, timeout: float = 60.0) -> EmbeddedPlacement:
        """Create the database (first time) and serve it."""
        conf = self.workdir / "placement.conf"
        if not conf.exists():
            conf.write_text(PLACEMENT_CONF.format(
                db=(self.workdir / "placement.db").resolve()
            ))
            self._db_sync(conf)
        # stdout carries only the READY line; everything the service logs
        # goes to placement.log, so no pipe can fill up and block it.
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", __name__, str(self.workdir)],
                stdout=subprocess.PIPE, stderr=log, text=True,
            )
        stdout = self.process.stdout  # a pipe: stdout=PIPE above
        line = stdout.readline() if stdout is not None else ""
        if not line.startswith("READY "):
            self.stop()
            raise PlacementStartError(
                "Placement did not start: %s (see %s)"
                % (line.strip() or "no output", self.log_path)
            )
        self.port = int(line.split()[1])
        self._wait_until_ready(timeout)
        return self

    def _db_sync(self, conf: Path) -> None:
        result = subprocess.run(
            [sys.executable, "-c",
             "import sys; from placement.cmd.manage import main; "
             "sys.exit(main())",
             "--config-file", str(conf), "db", "sync"],
            capture_output=True, text=True, timeout=120,
        )
        if result.returncode != 0:
            raise PlacementStartError(
                "placement-manage db sync failed: %s"
                % result.stderr.strip()[-500:]
            )

    def _wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(self.endpoint, timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        self.stop()
        raise PlacementStartError("Placement did not answer in %ds" % timeout)

    def stop(self) -> None:
        """Stop the service (the database stays for a restart)."""
        if self.process is not None and self.process.poll() is None:
            if self.process.stdout is not None:
                self.process.stdout.close()
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def close(self) -> None:
        """Stop and remove the working directory if we made it."""
        self.stop()
        if self._tempdir is not None:
            self._tempdir.cleanup()

    def __enter__(self) -> EmbeddedPlacement:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class PlacementAdminError(RuntimeError):
    """Placement refused a set-up or inspection request; the message
    names the request and gives Placement's answer."""


class PlacementAdmin:
    """Plain HTTP to an :class:`EmbeddedPlacement` with the admin token.

    Sets up and inspects providers independently of nova-hwabi's own
    Placement client (keystoneauth1), so no set-up and no check goes
    through the code under test. Requests carry ``microversion`` (1.39 by
    default: ``POST /resource_providers`` answers with the provider from
    1.20 on) unless a call names another. The service's endpoint is read
    on every call, because a restarted service listens on a new port.
    Providers are given as a UUID or as anything with a ``uuid``.
    """

    def __init__(self, service: EmbeddedPlacement,
                 microversion: str = "1.39") -> None:
        self.service = service
        self.session = requests.Session()
        self.session.headers.update({
            "X-Auth-Token": ADMIN_TOKEN,
            "OpenStack-API-Version": "placement " + microversion,
        })
        self._created_traits: set[str] = set()

    def call(self, method: str, path: str, body: Any = None, *,
             microversion: str | None = None,
             expect: tuple[int, ...] | None = None) -> requests.Response:
        """Send one request; the response, if its status is in ``expect``
        (by default any below 400). Raises :class:`PlacementAdminError`."""
        headers = ({"OpenStack-API-Version": "placement " + microversion}
                   if microversion else {})
        response = self.session.request(
            method, self.service.endpoint + path, json=body,
            headers=headers, timeout=120,
        )
        status = response.status_code
        refused = (status not in expect) if expect else (status >= 400)
        if refused:
            raise PlacementAdminError("%s %s: HTTP %d %s" % (
                method, path, status, response.text[:300]))
        return response

    def create_provider(self, name: str,
                        inventory: dict[str, int] | None = None,
                        traits: Iterable[str] = ()) -> dict[str, Any]:
        """``POST /resource_providers``, then the ``inventory`` ({resource
        class: total}) and ``traits`` given; the provider as Placement
        returned it, with its generation after the last write."""
        provider: dict[str, Any] = self.call("POST", "/resource_providers",
                             {"name": name}).json()
        if inventory:
            provider["generation"] = self.set_inventory(
                provider, inventory, provider["generation"])
        if traits:
            provider["generation"] = self.set_traits(
                provider, traits, provider["generation"])
        return provider

    def set_inventory(self, provider: Provider, inventory: dict[str, int],
                      generation: int) -> int:
        """Replace the provider's inventories; its new generation."""
        new_generation: int = self.call(
            "PUT", "/resource_providers/%s/inventories" % _uuid(provider), {
                "resource_provider_generation": generation,
                "inventories": {rc: {"total": total}
                                for rc, total in inventory.items()},
            }).json()["resource_provider_generation"]
        return new_generation

    def traits(self, provider: Provider) -> tuple[set[str], int]:
        """The provider's traits and generation."""
        data = self.call(
            "GET", "/resource_providers/%s/traits" % _uuid(provider)).json()
        return set(data["traits"]), data["resource_provider_generation"]

    def set_traits(self, provider: Provider, traits: Iterable[str],
                   generation: int | None = None) -> int:
        """Replace the provider's traits, creating the custom ones first;
        its new generation. ``generation`` None: the current one."""
        for name in sorted(traits):
            if name.startswith("CUSTOM_"):
                self.create_trait(name)
        if generation is None:
            generation = self.traits(provider)[1]
        new_generation: int = self.call(
            "PUT", "/resource_providers/%s/traits" % _uuid(provider), {
                "traits": sorted(traits),
                "resource_provider_generation": generation,
            }).json()["resource_provider_generation"]
        return new_generation

    def create_trait(self, name: str) -> None:
        """``PUT /traits/{name}`` (201 created, 204 already there), once
        per name for this client."""
        if name not in self._created_traits:
            self.call("PUT", "/traits/%s" % name, expect=(201, 204))
            self._created_traits.add(name)

    def trait_exists(self, name: str) -> bool:
        """Whether Placement knows trait ``name``."""
        return self.call("GET", "/traits/%s" % name,
                         expect=(204, 404)).status_code == 204


def _uuid(provider: Provider) -> str:
    if isinstance(provider, str):
        return provider
    if isinstance(provider, dict):
        uuid: str = provider["uuid"]
        return uuid
    return provider.uuid


class RecordingAdapter:
    """A keystoneauth adapter that records every request it sends.

    Wraps the adapter of nova-hwabi's ``PlacementClient`` (see
    :func:`record_requests`) so request counts are checked against what
    went over the wire, not only against the client's own counter.
    ``calls`` holds (method, URL path, HTTP status) in the order sent.
    """

    def __init__(self, adapter: ks_adapter.Adapter) -> None:
        self.adapter = adapter
        self.calls: list[tuple[str, str, int]] = []

    def request(self, url: str, method: str, *args: Any,
                **kwargs: Any) -> requests.Response:
        """Send through the wrapped adapter and record the answer."""
        response = self.adapter.request(url, method, *args, **kwargs)
        self.calls.append((method, url, response.status_code))
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self.adapter, name)


def record_requests(client: PlacementClient) -> RecordingAdapter:
    """Make ``client`` (a ``PlacementClient``) send through a
    :class:`RecordingAdapter`; that adapter."""
    recording = RecordingAdapter(client.adapter)
    # Duck-typed stand-in: the client only calls request() on its adapter.
    client.adapter = recording  # type: ignore[assignment]
    return recording


def write_nova_conf(path: Path, endpoint: str,
                    placement_opts: dict[str, str | None] | None = None,
                    sections: dict[str, dict[str, str]] | None = None,
                    ) -> Path:
    """Write a ``nova.conf`` at ``path`` whose ``[placement]`` reaches
    ``endpoint`` as keystoneauth1 does against noauth2 (``auth_type =
    admin_token``). ``placement_opts`` add or replace ``[placement]``
    options, a None value leaves one out; ``sections`` adds {group:
    {option: value}}. Returns ``path``."""
    groups: dict[str, Mapping[str, str | None]] = {
        "placement": {"auth_type": "admin_token", "endpoint": endpoint,
                      "token": ADMIN_TOKEN, **(placement_opts or {})},
        **(sections or {}),
    }
    lines = []
    for group, options in groups.items():
        lines.append("[%s]" % group)
        lines += ["%s = %s" % item for item in options.items()
                  if item[1] is not None]
    path = Path(path)
    path.write_text("\n".join(lines) + "\n")
    return path


def load_hwabi_conf(path: Path) -> cfg.ConfigOpts:
    """nova-hwabi's options (``nova_hwabi.conf.new_config()``) read from
    the ``nova.conf`` at ``path``."""
    from nova_hwabi import conf as hwabi_conf

    conf = hwabi_conf.new_config()
    conf([], default_config_files=[str(path)])
    return conf


def hwabi_conf_for(service: EmbeddedPlacement,
                   directory: Path) -> cfg.ConfigOpts:
    """nova-hwabi's options, read from ``directory``/nova.conf written to
    reach ``service``."""
    return load_hwabi_conf(write_nova_conf(
        Path(directory) / "nova.conf", service.endpoint))


def serve(workdir: str) -> None:
    """Serve Placement from ``workdir``/placement.conf until killed."""
    os.environ["OS_PLACEMENT_CONFIG_DIR"] = workdir
    from placement.wsgi import api  # reads the config dir on import

    server = make_server("127.0.0.1", 0, api.application,
                         server_class=_ThreadingServer,
                         handler_class=_QuietHandler)
    print("READY %d" % server.server_port, flush=True)
    # From now on stdout goes to the log too: the parent reads no more of
    # the pipe, which would fill up and block the service.
    log = open(os.path.join(workdir, "placement.log"), "ab")  # noqa: SIM115
    os.dup2(log.fileno(), sys.stdout.fileno())
    server.serve_forever()


if __name__ == "__main__":
    serve(sys.argv[1])
