"""JSON Schemas (2020-12, as OpenAPI 3.1 uses) of the API's and the pages' main answers.

They name the fields a client relies on, with their types; answers may carry more fields
(``additionalProperties`` is left open, so adding a field is not a breaking change).  The
OpenAPI document (:mod:`dialer.api.openapi`) publishes them under ``components.schemas`` and
the tests validate real answers against them.
"""

from __future__ import annotations

from typing import Any

S: dict[str, Any] = {"type": "string"}
SN: dict[str, Any] = {"type": ["string", "null"]}
INT: dict[str, Any] = {"type": "integer"}
INTN: dict[str, Any] = {"type": ["integer", "null"]}
NUM: dict[str, Any] = {"type": "number"}
BOOL: dict[str, Any] = {"type": "boolean"}
TIME: dict[str, Any] = {"type": "string", "format": "date-time", "description": "ISO 8601 with its offset",
                        "pattern": r"(Z|[+-]\d\d:\d\d)$"}
TIMEN: dict[str, Any] = {**TIME, "type": ["string", "null"]}
STRINGS: dict[str, Any] = {"type": "array", "items": S}
COUNTS: dict[str, Any] = {"type": "object", "additionalProperties": {"type": "number"}}
#: An agent's state as the pages show it (``dialer.tracking.agents``).
STATE: dict[str, Any] = {"enum": ["logged_out", "logged_in", "ready", "reserved", "talking", "wrap_up", "paused",
                                  "unavailable"]}


def obj(props: dict[str, Any], required: tuple[str, ...] | None = None) -> dict[str, Any]:
    """An object with ``props`` (all required unless ``required`` names fewer)."""
    return {"type": "object", "properties": props, "required": list(props if required is None else required)}


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


CODE_LABEL = obj({"code": S, "label": S})

SCHEMAS: dict[str, dict[str, Any]] = {
    "AgentState": obj({"agent": S, "state": STATE, "campaign": S, "code": S}, ("agent", "state")),
    "ScreenPop": obj({
        "call_id": INT, "campaign": S, "status": S, "outcome": SN,
        "lead": obj({"id": INT, "first_name": SN, "last_name": SN, "phone": SN, "timezones": STRINGS}, ("id", "phone")),
        "script": S, "attempt": INTN,
        "history": {"type": "array", "items": obj({"placed_at": TIMEN, "outcome": SN, "disposition": SN,
                                                   "agent": SN}, ("placed_at", "outcome", "disposition"))},
        "dispositions": {"type": "array", "items": obj({"code": S, "label": S, "flags": STRINGS})},
        "refusal_reasons": {"type": "array", "items": CODE_LABEL},
        "order_form": {"type": "array", "items": obj({"name": S, "label": S, "type": S, "required": BOOL},
                                                     ("name", "label", "type"))},
        "connected_at": TIMEN, "disposition": SN, "callback": BOOL, "callback_at": TIMEN, "callback_note": SN,
        "phone_masked": S,
    }, ("call_id", "campaign", "status", "lead", "script", "history", "dispositions", "refusal_reasons",
        "order_form", "callback", "callback_at", "phone_masked")),
    "CurrentCall": obj({"agent": S, "call": ref("ScreenPop")}),
    "MyCallbacks": obj({"agent": S, "day": {"type": "string", "format": "date"}, "tz": S,
                        "callbacks": {"type": "array", "items": obj({"lead_id": INT, "at": TIME}, ("lead_id", "at"))}}),
    "CallbackSlots": obj({"call_id": INT, "zones": STRINGS, "max_callback_days": INT,
                          "owners": {"type": "array", "items": {"enum": ["me", "anyone"]}},
                          "slots": {"type": "array", "items": TIME}}),
    "Disposed": obj({"call_id": INT, "disposition": S, "next": S}),
    "DoNotCall": obj({"phone": S, "added": BOOL, "disposition": SN, "at": TIME}),
    "CampaignState": obj({"campaign": S, "status": S, "previous": S}),
    "Status": obj({
        "node": S, "link_up": BOOL, "counters": COUNTS,
        "campaigns": {"type": "array", "items": obj({
            "name": S, "mode": S, "agents": COUNTS, "ringing": INT, "waiting": INT, "lines": INT, "placed": INT,
            "answered": INT, "abandon_rate_24h": NUM, "abandon_rate_30d": NUM, "abandon_target": NUM})},
    }),
    "Why": obj({"campaign": S, "campaign_status": S, "at": TIME, "total": INT, "callable": INT,
                "reasons": {"type": "array", "items": obj({"code": S, "label": S, "leads": INT, "earliest": TIMEN})}}),
    "ConsentRevoked": obj({"id": INT, "number": S, "scope": S, "at": TIME, "channel": S}),
    "Me": obj({"name": S, "role": {"enum": ["agent", "supervisor", "admin"]}, "campaigns": STRINGS,
               "campaign": SN, "state": STATE, "pause_code": SN, "seconds_in_state": INT, "call_id": INTN,
               "pause_codes": STRINGS, "wrapup_limit": NUM}),
    "WebLogin": obj({"agent": S, "campaign": S, "pause_codes": STRINGS}),
    "Wallboard": obj({
        "link_up": BOOL, "counters": COUNTS, "unassigned": {"type": "array"}, "paused_campaigns": STRINGS,
        "campaigns": {"type": "array", "items": obj({
            "name": S, "mode": S, "by_state": COUNTS,
            "agents": {"type": "array", "items": obj({"name": S, "state": STATE, "pause_code": SN},
                                                     ("name", "state"))},
            "calls": COUNTS, "abandon_rate_24h": NUM, "abandon": COUNTS,
            "pacing": {"type": ["object", "null"]}, "idle_reason": S, "pause_codes": STRINGS,
            "supply": {"type": ["object", "null"]},
            "today": obj({"day": {"type": ["string", "null"], "format": "date"}, "placed": INT, "answered": INT,
                          "connected": INT, "abandoned": INT})})},
    }),
    "AgentsReport": obj({
        "since": TIME, "until": TIME, "campaign": SN,
        "agents": {"type": "array", "items": obj({
            "agent": S, "calls": INT, "contacts": INT, "successes": INT, "conversion": NUM, "aht_s": NUM,
            "talk_s": NUM, "wrapup_s": NUM, "ready_s": NUM, "paused_s": NUM, "pause_by_code": COUNTS,
            "refusals": COUNTS})},
    }),
    "Recordings": obj({"recordings": {"type": "array", "items": obj({
        "call_id": INT, "campaign": S, "agent": SN, "ended_at": TIMEN, "disposition": SN, "url": S})}}),
}
