"""Requests, responses and the route table the sandbox's API modules register into.

Each Amazon API is an `ApiFamily`: how it authenticates a caller, how it words an error, and
which header carries its rate limit. An API module (SP-API reports, inventory, catalog; later
the Ads API) registers its routes with its family and knows nothing of the others.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

if TYPE_CHECKING:
    from amzinsight_sandbox.state import AccountState, SandboxState


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    body: bytes = b""
    path_params: dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None

    def query_values(self, name: str) -> list[str]:
        """A list parameter sent either repeated (a=1&a=2) or comma-separated (a=1,2)."""
        values: list[str] = []
        for raw in self.query.get(name, []):
            values.extend(part for part in raw.split(",") if part)
        return values

    def query_value(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body else None

    def form(self) -> dict[str, str]:
        parsed = parse_qs(self.body.decode("utf-8"), keep_blank_values=True)
        return {key: values[0] for key, values in parsed.items()}


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    trickle_seconds: float = 0.0
    """Send the body slowly, in pieces, over this many seconds (a slow download)."""


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, json.dumps(payload).encode("utf-8"), headers=dict(headers or {}))


class ApiError(Exception):
    """An error answer; the route's family renders it in its API's own shape."""

    def __init__(self, status: int, code: str, message: str, details: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


Authenticate = Callable[["SandboxState", Request], "AccountState"]
# (state, the authenticated account or None for open routes, request) -> response
Handler = Callable[["SandboxState", Any, Request], Response]


@dataclass(frozen=True)
class ApiFamily:
    name: str
    render_error: Callable[[ApiError], Response]
    authenticate: Authenticate | None = None
    rate_limit_header: str | None = None
    internal: bool = False
    """Sandbox control routes: no faults, no request log."""


@dataclass(frozen=True)
class RateLimit:
    """Amazon's token bucket for one operation: `rate` requests per second, `burst` at once."""

    rate: float
    burst: int


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    operation: str
    handler: Handler
    family: ApiFamily
    rate_limit: RateLimit | None


class Router:
    """Routes by method and path only: the sp-api client sends a broken Host for http URLs."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(
        self,
        method: str,
        template: str,
        operation: str,
        handler: Handler,
        family: ApiFamily,
        rate_limit: RateLimit | None = None,
    ) -> None:
        pattern = re.compile(
            "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template.rstrip("/")) + "/?$"
        )
        self.routes.append(
            Route(method.upper(), template, pattern, operation, handler, family, rate_limit)
        )

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str] | None] | None:
        """The route for a path and its parameters; parameters are None when the path exists
        but not for this method; None when no route has the path."""
        other_method: Route | None = None
        for route in self.routes:
            found = route.pattern.match(path)
            if found is None:
                continue
            if route.method == method.upper():
                return route, found.groupdict()
            other_method = other_method or route
        return (other_method, None) if other_method is not None else None
