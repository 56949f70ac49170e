"""/_sandbox/*: how a test in another process changes faults, reads the request log and
the Sales and Traffic meter, and resets the sandbox. Not Amazon's: no auth, no faults, not
logged."""

from __future__ import annotations

from amzinsight.errors import ConfigError
from amzinsight_sandbox.config import faults_from_json
from amzinsight_sandbox.routing import ApiError, ApiFamily, Request, Response, Router, json_response
from amzinsight_sandbox.state import SandboxState


def control_error(error: ApiError) -> Response:
    return json_response(error.status, {"error": error.code, "message": error.message})


CONTROL = ApiFamily(name="sandbox-control", render_error=control_error, internal=True)


def replace_faults(state: SandboxState, _account: object, request: Request) -> Response:
    """POST a JSON list of faults; it replaces the current list."""
    try:
        items = request.json()
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise ValueError("expected a JSON list of fault objects")
        faults = faults_from_json(items)
    except (ValueError, TypeError, ConfigError) as error:
        raise ApiError(400, "InvalidFaults", str(error)) from None
    state.set_faults(faults)
    return json_response(200, {"faults": [f.as_dict() for f in faults]})


def list_faults(state: SandboxState, _account: object, _request: Request) -> Response:
    with state.lock:
        active = [{**a.fault.as_dict(), "remaining": a.remaining} for a in state.faults]
    return json_response(200, {"faults": active})


def request_log(state: SandboxState, _account: object, _request: Request) -> Response:
    with state.lock:
        entries = list(state.request_log)
    return json_response(200, {"requests": entries})


def sales_traffic_meter(state: SandboxState, _account: object, _request: Request) -> Response:
    """The Sales and Traffic meter per LWA app: requests it counts now, and refusals (429)."""
    with state.lock:
        clients = set(state.sales_traffic_accepted) | set(state.meter_refusals)
        apps = {
            client_id: {
                "accepted": len(state.sales_traffic_accepted.get(client_id, ())),
                "refusals": state.meter_refusals.get(client_id, 0),
            }
            for client_id in sorted(clients)
        }
    config = state.config
    return json_response(
        200,
        {
            "enabled": config.sales_traffic_meter,
            "intervalSeconds": config.sales_traffic_interval_seconds / config.speed_factor,
            "dailyLimit": config.sales_traffic_daily_limit,
            "refusals": sum(app["refusals"] for app in apps.values()),
            "apps": apps,
        },
    )


def reset(state: SandboxState, _account: object, _request: Request) -> Response:
    state.reset()
    return json_response(200, {"reset": True})


def register(router: Router) -> None:
    router.add("POST", "/_sandbox/faults", "setFaults", replace_faults, CONTROL)
    router.add("GET", "/_sandbox/faults", "getFaults", list_faults, CONTROL)
    router.add("GET", "/_sandbox/requests", "getRequests", request_log, CONTROL)
    router.add("POST", "/_sandbox/reset", "reset", reset, CONTROL)
    router.add("GET", "/_sandbox/meter", "getMeter", sales_traffic_meter, CONTROL)
