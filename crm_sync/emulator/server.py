"""The emulator's HTTPS server: `Emulator` for tests (a background thread) and `run_forever` for the command.

Besides the Salesforce API it serves a small admin API on the same port, with no authentication (it
listens on loopback only):

    GET  /__emulator__/faults     the fault settings     POST /__emulator__/faults    {"error_rate": 0.2, ...}
    GET  /__emulator__/requests   the request log        POST /__emulator__/reset     forget everything
    GET  /__emulator__/records?object=Account            POST /__emulator__/settings  {"api_max": 50, ...}
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests

from . import schema
from .api import DEFAULTS, Api, Request, Response
from .certs import ensure_certificates
from .faults import Faults
from .store import Store

ADMIN = "/__emulator__"


def emulator_session(ca_path: Path | str) -> requests.Session:
    """A requests session that trusts the emulator's CA, and only it.

    trust_env is off because requests lets REQUESTS_CA_BUNDLE (set on some machines) override
    Session.verify; proxies from the environment must not see loopback traffic either.
    """
    session = requests.Session()
    session.trust_env = False
    session.verify = str(ca_path)
    return session


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SalesforceEmulator/1.0"
    sys_version = ""

    def setup(self):
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's algorithm and delayed ACKs add
        # 40 ms to every keep-alive request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass  # the request log in the store replaces stderr lines

    def _serve(self):
        started = time.monotonic()
        app: Emulator = self.server.emulator  # type: ignore[attr-defined]
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        request = Request(
            method=self.command,
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
        )
        latency = app.api.faults.faults.latency_ms
        if latency:
            time.sleep(latency / 1000)
        if split.path.startswith(ADMIN):
            response = app.admin(request)
        else:
            try:
                response = app.api.handle(request)
            except Exception as failure:  # a bug in the emulator: answer as Salesforce does, and log it
                response = Response(500, [{"errorCode": "UNKNOWN_EXCEPTION", "message": repr(failure)}])
            app.api.store.log_request(
                {
                    "at": time.time(),
                    "method": self.command,
                    "path": split.path,
                    "status": response.status,
                    "object": response.object,
                    "record_count": response.record_count,
                    "duration_ms": (time.monotonic() - started) * 1000,
                }
            )
        payload = response.payload()
        self.send_response(response.status)
        if payload or response.status not in (204, 304):
            self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # A client that refuses the certificate or hangs up mid-handshake is routine, not a traceback.
        pass


class Emulator:
    """A Salesforce emulator on https://127.0.0.1:<port>, its data kept in `data_dir`."""

    def __init__(self, data_dir: Path | str, *, port: int = 0, host: str = "127.0.0.1"):
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.certs = ensure_certificates(self.data_dir)
        self.host = host
        self.requested_port = port
        self.api = Api(Store(self.data_dir / "emulator.sqlite3"))
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------------------

    @property
    def ca_path(self) -> Path:
        return self.certs.ca

    @property
    def url(self) -> str:
        assert self._server is not None, "the emulator is not started"
        return f"https://{self.host}:{self._server.server_address[1]}"

    @property
    def port(self) -> int:
        assert self._server is not None, "the emulator is not started"
        return self._server.server_address[1]

    def bind(self) -> None:
        """Listen (TLS) on the port; requests are served once serve_forever() runs."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.certs.cert, self.certs.key)
        server = _Server((self.host, self.requested_port), _Handler, bind_and_activate=True)
        # The handshake happens in each request's thread, so a slow or refusing client blocks no one.
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        server.emulator = self  # type: ignore[attr-defined]
        self._server = server
        self.api.base_url = self.url

    def start(self) -> Emulator:
        """Serve in a background thread (tests); returns once it accepts connections."""
        self.bind()
        self._thread = threading.Thread(target=self._server.serve_forever, name="crm-emulator", daemon=True)
        self._thread.start()
        return self

    def run_forever(self) -> None:
        """Serve in this thread until KeyboardInterrupt or stop() from another thread."""
        if self._server is None:
            self.bind()
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()
            self.api.store.close()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            if self._thread is not None:
                self._thread.join(timeout=10)
                self._server.server_close()
                self.api.store.close()
            self._server = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- control from Python --------------------------------------------------------------------------

    def add_client(self, client_id: str, client_secret: str) -> None:
        """Accept this connected app in the client-credentials flow (and name it in the password flow)."""
        self.api.add_credentials(client=(client_id, client_secret))

    def add_user(self, username: str, password: str) -> None:
        """Accept this user in the username-password flow."""
        self.api.add_credentials(user=(username, password))

    def set_faults(self, **settings) -> Faults:
        """Replace the fault settings (unnamed ones go off), e.g. set_faults(error_rate=0.2, seed=1)."""
        faults = Faults.from_dict(settings)
        self.api.set_faults(faults)
        return faults

    def clear_faults(self) -> None:
        self.api.set_faults(Faults())

    def expire_sessions(self) -> None:
        """Every access token issued so far now answers 401 INVALID_SESSION_ID."""
        self.api.store.expire_sessions()

    def configure(self, **settings) -> None:
        """Set api_max (daily API limit), api_usage, session_lifetime (seconds) or query_batch_size."""
        for key, value in settings.items():
            if key not in (*DEFAULTS, "api_usage"):
                raise ValueError(f"unknown setting {key}")
            self.api.store.set_setting(key, int(value))

    def request_log(self) -> list[dict]:
        return self.api.store.request_log()

    def clear_request_log(self) -> None:
        self.api.store.execute("delete from requests")

    def records(self, obj: str) -> list[dict]:
        """The live records of an object, all fields."""
        return self.api.store.live_records(obj)

    def api_usage(self) -> tuple[int, int]:
        return self.api.usage()

    def reset(self) -> None:
        """Forget records, sessions, jobs, the log, faults and settings; keep the credentials."""
        self.api.store.reset()
        self.api.faults.set(Faults())

    # --- the admin API --------------------------------------------------------------------------------

    def admin(self, request: Request) -> Response:
        path = request.path[len(ADMIN) :].strip("/")
        try:
            body = json.loads(request.body or b"{}")
            if path == "faults" and request.method == "POST":
                body = dict(body)
                if body.pop("expire_sessions", False):
                    self.expire_sessions()
                return Response(200, self.set_faults(**body).__dict__)
            if path == "faults" and request.method == "GET":
                return Response(200, self.api.faults.faults.__dict__)
            if path == "requests" and request.method == "GET":
                return Response(200, self.request_log())
            if path == "requests" and request.method == "DELETE":
                self.clear_request_log()
                return Response(204)
            if path == "reset" and request.method == "POST":
                self.reset()
                return Response(204)
            if path == "settings" and request.method == "POST":
                self.configure(**body)
                return Response(204)
            if path == "records" and request.method == "GET":
                obj = request.param("object", "")
                if obj not in schema.OBJECTS:
                    return Response(400, {"error": f"unknown object {obj!r}"})
                return Response(200, self.records(obj))
        except (ValueError, TypeError) as failure:
            return Response(400, {"error": str(failure)})
        return Response(404, {"error": "unknown admin endpoint"})
