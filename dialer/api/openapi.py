"""The HTTP API as an OpenAPI 3.1 document (``GET /api/openapi.json``), built from the routes
themselves and a short description of each: a route without one fails the tests, and so does
a description of a route that does not exist.  It covers the JSON API (``/api/...``) and the
routes the desktop and the wallboard use besides it (``/web/...``, session cookie only); the
main answers have a schema (:mod:`dialer.api.schemas`)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from starlette.routing import BaseRoute, Route

from dialer import __version__
from dialer.api.schemas import SCHEMAS

TIME = {"type": "string", "format": "date-time", "description": "ISO 8601 with its offset"}
ERROR = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}
OBJECT = {"type": "object"}


def _body(props: dict[str, Any], required: Iterable[str] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": list(required), "additionalProperties": True}


S = {"type": "string"}
SN = {"type": ["string", "null"]}

#: (method, path) -> (summary, request body schema or None, success status, errors, tag)
OPERATIONS: dict[tuple[str, str], tuple[str, dict | None, int, tuple[int, ...], str]] = {
    ("POST", "/api/agents/{name}/login"): ("Log an agent in to an assigned campaign",
                                            _body({"campaign": S}, ["campaign"]), 200, (401, 403, 404, 409, 422), "agents"),
    ("POST", "/api/agents/{name}/logout"): ("Log an agent out (staff: a forced log-out)", None, 200,
                                             (401, 403, 404, 409), "agents"),
    ("POST", "/api/agents/{name}/pause"): ("Pause an agent with a code (staff: a forced pause)",
                                            _body({"code": S}, ["code"]), 200, (401, 403, 404, 409, 422), "agents"),
    ("POST", "/api/agents/{name}/ready"): ("Make an agent ready", None, 200, (401, 403, 404, 409), "agents"),
    ("GET", "/api/agents/{name}/call"): ("The agent's current call: the screen pop", None, 200,
                                          (204, 401, 403, 404), "agents"),
    ("GET", "/api/agents/{name}/callbacks"): ("The agent's owned callbacks due today (tz query)", None, 200,
                                               (401, 403, 404, 422), "agents"),
    ("POST", "/api/calls/{call_id}/disposition"): (
        "Record a call's disposition", _body({"code": S, "reason": SN, "callback_at": {**TIME, "type": ["string", "null"]},
                                              "callback_owner": {"enum": ["me", "anyone"]}, "order": OBJECT,
                                              "note": SN}, ["code"]),
        200, (401, 403, 404, 409, 413, 422), "calls"),
    ("POST", "/api/calls/{call_id}/dnc"): ("Do not call me: the number onto the DNC list, the call disposed",
                                            _body({"note": SN}), 200, (401, 403, 404, 409), "calls"),
    ("GET", "/api/calls/{call_id}/callback-slots"): ("The times a callback may be booked for", None, 200,
                                                      (401, 403, 404, 422), "calls"),
    ("GET", "/api/calls/{call_id}/recording"): ("The call's recording (staff; Range requests answered 206)", None, 200,
                                                 (206, 401, 403, 404, 416), "calls"),
    ("GET", "/api/status"): ("Campaigns, agents and calls (admin)", None, 200, (401, 403), "admin"),
    ("POST", "/api/consent/revoke"): ("Record a revocation of consent now (admin; a CRM's opt-out)",
                                      _body({"number": S, "region": SN, "scope": SN, "evidence": SN}, ["number"]),
                                      200, (401, 403, 413, 422), "admin"),
    ("POST", "/api/campaigns/{name}/pause"): ("Pause a campaign (admin)", None, 200, (401, 403, 404, 409), "admin"),
    ("POST", "/api/campaigns/{name}/resume"): ("Resume a paused campaign (admin)", None, 200, (401, 403, 404, 409),
                                                "admin"),
    ("GET", "/api/campaigns/{name}/why"): ("Callable leads and what holds the others back (admin)", None, 200,
                                            (401, 403, 404, 422), "admin"),
    ("GET", "/api/campaigns/{name}/forecast"): ("Hour-by-hour forecast (admin)", None, 200, (401, 403, 404, 422),
                                                 "admin"),
    ("GET", "/api/lists/{name}/audit"): ("List audit (admin)", None, 200, (401, 403, 404), "admin"),
    ("GET", "/api/openapi.json"): ("This document", None, 200, (), "meta"),
    # the pages' own routes (dialer/web): the session cookie, never the bearer token
    ("GET", "/web/me"): ("Who is signed in: campaigns, state, current call, pause codes", None, 200, (401,), "web"),
    ("POST", "/web/login"): ("Log the signed-in agent in to an assigned campaign (form: campaign)",
                             _body({"campaign": S}, ["campaign"]), 200, (401, 403, 413, 422), "web"),
    ("GET", "/web/wallboard"): ("The wallboard's data (staff)", None, 200, (401, 403), "web"),
    ("GET", "/web/events"): ("Server-Sent Events: an agent's own events (screen pops), or every event and the "
                             "wallboard every second (staff)", None, 200, (401,), "web"),
    ("GET", "/web/charts/{campaign}/{kind}.svg"): ("A wallboard chart: kind hourly, abandon, talk or agents (staff)",
                                                   None, 200, (401, 403, 404), "web"),
    ("GET", "/web/agents-report"): ("Agents' performance, since/until (ISO 8601; default today so far), campaign "
                                    "(staff)", None, 200, (401, 403, 422), "web"),
    ("GET", "/web/agents-report.csv"): ("The agents' performance as CSV (staff)", None, 200, (401, 403, 422), "web"),
    ("GET", "/web/recordings"): ("The latest recorded calls, newest first (staff)", None, 200, (401, 403), "web"),
}

#: Routes whose success is a file or a stream, not JSON: (method, path) -> media type.
MEDIA = {
    ("GET", "/api/calls/{call_id}/recording"): "audio/wav",
    ("GET", "/web/events"): "text/event-stream",
    ("GET", "/web/charts/{campaign}/{kind}.svg"): "image/svg+xml",
    ("GET", "/web/agents-report.csv"): "text/csv",
}
#: Routes that take a form (the pages post forms with the CSRF token in a header).
FORMS = {("POST", "/web/login")}

#: The schema of each route's success answer (``components.schemas``); the others: an object.
ANSWERS: dict[tuple[str, str], str] = {
    ("POST", "/api/agents/{name}/login"): "AgentState", ("POST", "/api/agents/{name}/logout"): "AgentState",
    ("POST", "/api/agents/{name}/pause"): "AgentState", ("POST", "/api/agents/{name}/ready"): "AgentState",
    ("GET", "/api/agents/{name}/call"): "CurrentCall", ("GET", "/api/agents/{name}/callbacks"): "MyCallbacks",
    ("POST", "/api/calls/{call_id}/disposition"): "Disposed", ("POST", "/api/calls/{call_id}/dnc"): "DoNotCall",
    ("GET", "/api/calls/{call_id}/callback-slots"): "CallbackSlots", ("GET", "/api/status"): "Status",
    ("POST", "/api/consent/revoke"): "ConsentRevoked", ("POST", "/api/campaigns/{name}/pause"): "CampaignState",
    ("POST", "/api/campaigns/{name}/resume"): "CampaignState", ("GET", "/api/campaigns/{name}/why"): "Why",
    ("GET", "/web/me"): "Me", ("POST", "/web/login"): "WebLogin", ("GET", "/web/wallboard"): "Wallboard",
    ("GET", "/web/agents-report"): "AgentsReport", ("GET", "/web/recordings"): "Recordings",
}

_PARAM = re.compile(r"{([^}:]+)(?::[^}]*)?}")


def api_routes(routes: Iterable[BaseRoute]) -> list[tuple[str, str]]:
    """(method, path) of every route the document describes: the JSON API (``/api/...``) and the
    pages' data (``/web/...``)."""
    return sorted((m, r.path) for r in routes if isinstance(r, Route) and r.path.startswith(("/api/", "/web/"))
                  for m in (r.methods or set()) - {"HEAD"})


def document(routes: Iterable[BaseRoute]) -> dict[str, Any]:
    """The OpenAPI document of the API ``routes`` (KeyError for a route not described here)."""
    paths: dict[str, dict[str, Any]] = {}
    for method, path in api_routes(routes):
        summary, body, ok, errors, tag = OPERATIONS[(method, path)]
        op: dict[str, Any] = {
            "summary": summary, "tags": [tag], "operationId": f"{method.lower()}_{re.sub(r'[^a-z]+', '_', path)}",
            "parameters": [{"name": p, "in": "path", "required": True, "schema": S} for p in _PARAM.findall(path)],
            "responses": {str(ok): {"description": "done", "content": {"application/json": {
                              "schema": {"$ref": f"#/components/schemas/{ANSWERS[method, path]}"}
                              if (method, path) in ANSWERS else OBJECT}}},
                          **{str(code): ({"description": "no content"} if code == 204 else
                                         {"description": "refused",
                                          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
                             for code in errors}},
        }
        if (method, path) in MEDIA:
            media = {"description": "the file", "content": {MEDIA[method, path]: {"schema": {"type": "string",
                                                                                        "format": "binary"}}}}
            op["responses"].update({str(ok): media, "206": {**media, "description": "part of the file"}})
        if body is not None:
            media_type = "application/x-www-form-urlencoded" if (method, path) in FORMS else "application/json"
            op["requestBody"] = {"required": bool(body.get("required")), "content": {media_type: {"schema": body}}}
        if path.startswith("/web/"):
            op["security"] = [{"session": []}]
        elif path != "/api/openapi.json":
            op["security"] = [{"bearer": []}, {"session": []}]
        paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "dialer agents' API and the pages' routes", "version": __version__,
                 "description": "Timestamps are ISO 8601 with their offset. Bodies are at most [http] "
                                "max_body_bytes (64 KiB by default): 413 above. State-changing requests "
                                "with the session cookie need the X-CSRF-Token header."},
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR, **SCHEMAS},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "session": {"type": "apiKey", "in": "cookie", "name": "dialer_session"}},
        },
    }
