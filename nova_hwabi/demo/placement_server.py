"""A real Placement service on 127.0.0.1 with sqlite, in its own process.

Used by the demo, the functional tests and the Placement benchmark. It is
openstack-placement's own WSGI application with ``auth_strategy = noauth2``
(the token ``admin`` has the admin role), served by the standard library's
threading WSGI server. Run as a module it serves until killed and prints
``READY <port>`` once it listens.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import requests

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


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
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
        self.process: subprocess.Popen | None = None
        self.port: int | None = None

    @property
    def log_path(self) -> Path:
        """Where the service's own log goes."""
        return self.workdir / "placement.log"

    @property
    def endpoint(self) -> str:
        """The service's base URL."""
        return "http://127.0.0.1:%d" % self.port

    def placement_section(self) -> str:
        """The ``[placement]`` lines of a nova.conf that reach this
        service as keystoneauth1 does: ``admin_token`` against noauth2."""
        return ("[placement]\nauth_type = admin_token\nendpoint = %s\n"
                "token = %s\n" % (self.endpoint, ADMIN_TOKEN))

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
        line = self.process.stdout.readline()
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

    def __exit__(self, *exc_info) -> None:
        self.close()


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
