"""The sandbox's HTTP server: a local fake Amazon for demo mode, integration tests and benches.

`start_sandbox` runs it on a background thread; `serve` blocks until SIGINT or SIGTERM (the
`amzinsight sandbox serve` command). Requests pass one pipeline: route, authenticate, rate
limit, injected faults, handler. API modules plug their routes in through `ROUTE_MODULES`.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType, TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from amzinsight_sandbox import (
    ads_api,
    catalog_api,
    control,
    data_kiosk,
    downloads,
    finances,
    inventory_api,
    reports_api,
    selling_partner,
)
from amzinsight_sandbox.config import (
    DEMO_SEED,
    REQUEST_FAULT_KINDS,
    Fault,
    SandboxAccount,
    SandboxConfig,
    demo_account,
    demo_environment,
)
from amzinsight_sandbox.routing import ApiError, Request, Response, Route, Router
from amzinsight_sandbox.selling_partner import sp_api_error
from amzinsight_sandbox.state import SandboxState
from amzinsight_sandbox.truth import AccountTruth

logger = logging.getLogger(__name__)

# Each module registers its own routes; the Ads API joins as one more module here.
ROUTE_MODULES: tuple[ModuleType, ...] = (
    ads_api,  # first: its token route takes Ads-only credentials, then defers to selling_partner
    selling_partner,
    reports_api,
    inventory_api,
    catalog_api,
    data_kiosk,
    finances,
    downloads,
    control,
)
_SUCCESS_OR_CLIENT_ERROR = (400, 404)


def build_router(modules: Iterable[ModuleType] = ROUTE_MODULES) -> Router:
    router = Router()
    for module in modules:
        module.register(router)
    return router


def _injected_error(state: SandboxState, fault: Fault) -> ApiError:
    if fault.kind == "throttle":
        return ApiError(429, "QuotaExceeded", "You exceeded your quota for the requested resource.")
    with state.lock:
        state.server_errors_sent += 1
        unavailable = state.server_errors_sent % 2 == 1
    if unavailable:
        return ApiError(503, "ServiceUnavailable", "Service temporarily unavailable. Try again.")
    return ApiError(500, "InternalFailure", "We encountered an internal error. Please try again.")


def _respond(
    state: SandboxState, route: Route, params: dict[str, str] | None, request: Request
) -> tuple[Response, str | None]:
    family = route.family
    seller_id: str | None = None
    try:
        if params is None:
            raise ApiError(405, "MethodNotAllowed", f"{request.method} is not allowed here.")
        request.path_params = params
        account = family.authenticate(state, request) if family.authenticate else None
        seller_id = account.seller_id if account is not None else None
        if (
            account is not None
            and route.rate_limit is not None
            and not state.take_rate_token(account, route.operation, route.rate_limit)
        ):
            raise ApiError(
                429, "QuotaExceeded", "You exceeded your quota for the requested resource."
            )
        if not family.internal:
            fault = state.take_fault(REQUEST_FAULT_KINDS, route.operation, None, seller_id)
            if fault is not None:
                if fault.delay_seconds > 0:
                    time.sleep(fault.delay_seconds)
                raise _injected_error(state, fault)
        response = route.handler(state, account, request)
    except ApiError as error:
        response = family.render_error(error)
    except Exception:
        logger.exception("Sandbox failed on %s %s", request.method, request.path)
        response = family.render_error(
            ApiError(500, "InternalFailure", "We encountered an internal error. Please try again.")
        )
    if (
        family.rate_limit_header
        and route.rate_limit is not None
        and (200 <= response.status < 300 or response.status in _SUCCESS_OR_CLIENT_ERROR)
    ):
        rate = route.rate_limit.rate * state.config.speed_factor
        response.headers[family.rate_limit_header] = f"{rate:g}"
    return response, seller_id


def dispatch(state: SandboxState, router: Router, request: Request) -> Response:
    """Answer one request; never raises."""
    found = router.match(request.method, request.path)
    if found is None:
        response = sp_api_error(ApiError(404, "NotFound", f"Resource {request.path} not found."))
        route, seller_id = None, None
    else:
        route, params = found
        response, seller_id = _respond(state, route, params, request)
    response.headers["x-amzn-RequestId"] = str(uuid.uuid4())
    if route is None or not route.family.internal:
        state.log_request(
            {
                "method": request.method,
                "path": request.path,
                "status": response.status,
                "operation": route.operation if route else None,
                "seller_id": seller_id,
                "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            }
        )
    return response


class _SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], state: SandboxState, router: Router) -> None:
        self.state = state
        self.router = router
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _SandboxRequestHandler)

    def close_open_connections(self) -> None:
        """Idle keep-alive connections would otherwise outlive stop()."""
        with self.connections_lock:
            connections = list(self.open_connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _SandboxRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "AmzInsightSandbox/1.0"
    timeout = 120  # seconds an idle keep-alive connection stays open
    server: _SandboxHTTPServer

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.open_connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.open_connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _handle(self) -> None:
        body = self._read_body()
        parts = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=unquote(parts.path),
            query=parse_qs(parts.query, keep_blank_values=True),
            headers=dict(self.headers.items()),
            body=body,
        )
        response = dispatch(self.server.state, self.server.router, request)
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if response.trickle_seconds > 0 and response.body:
                pieces = 10
                size = -(-len(response.body) // pieces)
                for start in range(0, len(response.body), size):
                    time.sleep(response.trickle_seconds / pieces)
                    self.wfile.write(response.body[start : start + size])
                    self.wfile.flush()
            else:
                self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("sandbox %s - %s", self.address_string(), format % args)


class RunningSandbox:
    """A sandbox serving on a background thread; use as a context manager or call stop()."""

    def __init__(self, server: _SandboxHTTPServer, thread: threading.Thread, url: str) -> None:
        self._server = server
        self._thread = thread
        self.url = url
        self.state = server.state

    @property
    def accounts(self) -> list[SandboxAccount]:
        return [state.account for state in self.state.accounts.values()]

    @property
    def lwa_token_url(self) -> str:
        return self.url + "/auth/o2/token"

    def truth(self, seller_id: str) -> AccountTruth:
        """The generated daily truth behind every report of one account."""
        return self.state.accounts[seller_id].truth

    def set_faults(self, faults: Iterable[Fault]) -> None:
        """Replace the injected faults (same as POST /_sandbox/faults)."""
        self.state.set_faults(faults)

    def requests(self) -> list[dict[str, Any]]:
        """The request log (same as GET /_sandbox/requests)."""
        with self.state.lock:
            return list(self.state.request_log)

    def meter_refusals(self, client_id: str | None = None) -> int:
        """createReport calls the Sales and Traffic meter refused (429) since the start or the
        last reset, for one LWA client id or for all apps (GET /_sandbox/meter has the same)."""
        with self.state.lock:
            if client_id is not None:
                return self.state.meter_refusals.get(client_id, 0)
            return sum(self.state.meter_refusals.values())

    def reset(self) -> None:
        """Back to the configured start (same as POST /_sandbox/reset)."""
        self.state.reset()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.close_open_connections()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def start_sandbox(
    config: SandboxConfig, host: str = "127.0.0.1", port: int = 0, public_url: str | None = None
) -> RunningSandbox:
    """Serve `config` on host:port (0 = any free port) until `.stop()`.

    `public_url` is the base URL clients use, when it differs from the bound address (for
    example behind Docker); document download URLs are built on it."""
    state = SandboxState(config)
    server = _SandboxHTTPServer((host, port), state, build_router())
    bound_host, bound_port = server.server_address[:2]
    if isinstance(bound_host, bytes):
        bound_host = bound_host.decode()
    reachable = "127.0.0.1" if bound_host in ("0.0.0.0", "") else bound_host  # noqa: S104
    url = (public_url or f"http://{reachable}:{bound_port}").rstrip("/")
    state.base_url = url
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="amzinsight-sandbox"
    )
    thread.daemon = True
    thread.start()
    # Generate each account's data now, off the request path, so the first call is quick.
    threading.Thread(
        target=lambda: [account.truth for account in state.accounts.values()],
        name="amzinsight-sandbox-warmup",
        daemon=True,
    ).start()
    logger.info("Sandbox Amazon listening on %s", url)
    return RunningSandbox(server, thread, url)


def serve(
    config: SandboxConfig,
    host: str = "127.0.0.1",
    port: int = 0,
    public_url: str | None = None,
    on_ready: Callable[[RunningSandbox], None] | None = None,
) -> None:
    """Serve until SIGINT or SIGTERM."""
    stopping = threading.Event()
    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, lambda *_: stopping.set())
    sandbox = start_sandbox(config, host, port, public_url)
    try:
        if on_ready is not None:
            on_ready(sandbox)
        while not stopping.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
        for restored, handler in previous.items():
            signal.signal(restored, handler)


def serve_from_args(
    host: str = "127.0.0.1",
    port: int = 8765,
    seed: int = DEMO_SEED,
    asins: int = 40,
    days: int = 400,
    speed_factor: float = 1.0,
    processing_delay: float = 2.0,
) -> int:
    """`amzinsight sandbox serve`: the demo account until Ctrl+C; prints how to connect."""
    account = demo_account(seed=seed, asins=asins, days=days)
    config = SandboxConfig(
        accounts=[account], speed_factor=speed_factor, processing_delay_seconds=processing_delay
    )

    def announce(sandbox: RunningSandbox) -> None:
        marketplaces = ", ".join(account.marketplaces)
        print(f"Sandbox Amazon (SP-API) listening on {sandbox.url}")
        print(f"  seller {account.seller_id} {account.name!r} ({account.region}: {marketplaces})")
        print(f"  SP-API endpoint: {sandbox.url}")
        print(f"  LWA token URL:   {sandbox.lwa_token_url}")
        print("Sandbox-only demo credentials (they open nothing but this sandbox):")
        for name, value in demo_environment(account).items():
            print(f"{name}={value}")
        flags = " ".join(f"--marketplace {code}" for code in account.marketplaces)
        print(
            f"Register it: amzinsight store add demo --name {account.name!r} {flags} "
            f"--seller-id {account.seller_id} --sandbox {sandbox.url}"
        )
        print("Press Ctrl+C to stop.", flush=True)

    serve(config, host, port, on_ready=announce)
    return 0
