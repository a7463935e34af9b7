"""The agents' HTTP JSON API, served by the daemon (Starlette).

Agents authenticate with ``Authorization: Bearer <token>``: their own token (shown once by
``dialer agents add``) gives access to their own session and calls; the admin token (in
``<data_dir>/admin.token``, used by the CLI) to every agent and call.

    POST /api/agents/{name}/login     {"campaign": "retention"}
    POST /api/agents/{name}/logout
    POST /api/agents/{name}/pause     {"code": "BREAK"}
    POST /api/agents/{name}/ready
    GET  /api/agents/{name}/call      the current call: lead data, custom fields, the script
                                      (204 No Content when the agent has none)
    POST /api/calls/{id}/disposition  {"code": "REFUSED", "reason": "PRICE", "callback_at": null,
                                       "order": {...}, "note": "..."}
    GET  /api/status                  campaigns, agents and calls (admin)
    GET  /api/campaigns/{name}/why?at=WHEN       callable leads and reasons (admin)
    GET  /api/campaigns/{name}/forecast?hours=N  hour-by-hour forecast (admin)
    GET  /api/lists/{name}/audit                 list audit (admin)
    GET  /metrics, /healthz, /readyz             operations, no token (``health``)

Status codes and limits: docs/daemon.md ("The agents' HTTP API").  Modules: ``app`` (routes,
error mapping), ``handlers``, ``auth``, ``inputs`` (what a request may hold), ``responses``,
``serving`` (uvicorn's limits for the daemon), ``health`` (metrics and probes).
"""

from dialer.api.app import create_app
from dialer.api.auth import token_hash

__all__ = ["create_app", "token_hash"]
