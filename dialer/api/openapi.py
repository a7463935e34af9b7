"""The HTTP API as an OpenAPI 3.1 document (``GET /api/openapi.json``), built from the routes
themselves and a short description of each: a route without one fails the tests, and so does
a description of a route that does not exist."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from starlette.routing import BaseRoute, Route

from dialer import __version__

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
}

#: Routes whose success is a file, not JSON: (method, path) -> media type.
MEDIA = {("GET", "/api/calls/{call_id}/recording"): "audio/wav"}

_PARAM = re.compile(r"{([^}:]+)(?::[^}]*)?}")


def api_routes(routes: Iterable[BaseRoute]) -> list[tuple[str, str]]:
    """(method, path) of every JSON API route (``/api/...``)."""
    return sorted((m, r.path) for r in routes if isinstance(r, Route) and r.path.startswith("/api/")
                  for m in (r.methods or set()) - {"HEAD"})


def document(routes: Iterable[BaseRoute]) -> dict[str, Any]:
    """The OpenAPI document of the API ``routes`` (KeyError for a route not described here)."""
    paths: dict[str, dict[str, Any]] = {}
    for method, path in api_routes(routes):
        summary, body, ok, errors, tag = OPERATIONS[(method, path)]
        op: dict[str, Any] = {
            "summary": summary, "tags": [tag], "operationId": f"{method.lower()}_{re.sub(r'[^a-z]+', '_', path)}",
            "parameters": [{"name": p, "in": "path", "required": True, "schema": S} for p in _PARAM.findall(path)],
            "responses": {str(ok): {"description": "done", "content": {"application/json": {"schema": OBJECT}}},
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
            op["requestBody"] = {"required": bool(body.get("required")),
                                 "content": {"application/json": {"schema": body}}}
        if path != "/api/openapi.json":
            op["security"] = [{"bearer": []}, {"session": []}]
        paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "dialer agents' API", "version": __version__,
                 "description": "Timestamps are ISO 8601 with their offset. Bodies are at most [http] "
                                "max_body_bytes (64 KiB by default): 413 above. State-changing requests "
                                "with the session cookie need the X-CSRF-Token header."},
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "session": {"type": "apiKey", "in": "cookie", "name": "dialer_session"}},
        },
    }
