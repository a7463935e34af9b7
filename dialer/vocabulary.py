"""The stored vocabularies, typed: lead statuses, call statuses and outcomes, agent states.

``StrEnum`` members are plain strings, so they go into SQL as they are
(``leads.c.status == LeadStatus.NEW``) and compare equal to the strings already stored.
One spelling each, for every package (``dialer``, ``campaigns``, ``lists``).
"""

from __future__ import annotations

from enum import StrEnum


class LeadStatus(StrEnum):
    NEW = "new"  # imported, never dialled
    DIALING = "dialing"  # claimed: a call is being placed (its ``calls`` row exists)
    RETRY = "retry"  # to dial again from ``next_call_at``
    CALLBACK = "callback"  # a callback booked for ``next_call_at`` (maybe owned by an agent)
    DONE = "done"  # finished by the rules
    DNC = "dnc"  # on a do-not-call list


#: Lead statuses a claim may pick (when due).
CALLABLE = (LeadStatus.NEW, LeadStatus.RETRY, LeadStatus.CALLBACK)


class CallStatus(StrEnum):
    """Where a dial attempt (a ``calls`` row) stands."""

    PLACING = "placing"  # row written, Originate being sent
    RINGING = "ringing"
    ANSWERED = "answered"
    CONNECTED = "connected"
    ENDED = "ended"
    UNKNOWN = "unknown"  # lost sight of it (link down); reconciliation decides


class Outcome(StrEnum):
    """How a dial attempt ended, as stored in ``calls.outcome`` and known to the rules."""

    CONNECTED = "CONNECTED"
    ABANDONED = "ABANDONED"
    MACHINE = "MACHINE"
    ANSWERED = "ANSWERED"  # answered, then lost before an agent or AMD decided
    NO_ANSWER = "NO_ANSWER"
    BUSY = "BUSY"
    CONGESTION = "CONGESTION"
    INVALID_NUMBER = "INVALID_NUMBER"
    FAILED = "FAILED"
    PBX_DOWN = "PBX_DOWN"  # refused or cut short by the PBX shutting down: the attempt is given back
    UNKNOWN = "UNKNOWN"


#: Outcomes in the abandon rate: abandoned / (abandoned + connected).
LIVE_ANSWER = (Outcome.ABANDONED, Outcome.CONNECTED)


class AgentStatus(StrEnum):
    """An agent's state as stored in ``agents.state`` (``dialer agents ls``)."""

    LOGGED_OUT = "logged_out"
    READY = "ready"
    RESERVED = "reserved"  # an owned callback is being placed to them
    TALKING = "talking"
    WRAPUP = "wrapup"
    PAUSED = "paused"
    UNAVAILABLE = "unavailable"


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    STOPPED = "stopped"


class AuditAction(StrEnum):
    """What an ``audit_log`` row records (``dialer audit ls``)."""

    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    SIGN_OUT = "sign_out"
    LOGIN = "login"  # into a campaign's queue
    LOGOUT = "logout"
    PAUSE = "pause"
    READY = "ready"
    DISPOSITION = "disposition"
    DNC_ADDED = "dnc_added"
    DNC_IMPORTED = "dnc_imported"  # a file of numbers (dialer dnc import)
    DNC_REMOVED = "dnc_removed"
    FORCE_PAUSE = "force_pause"  # a supervisor paused an agent
    FORCE_LOGOUT = "force_logout"  # a supervisor logged an agent out
    CAMPAIGN_APPLIED = "campaign_applied"  # created or changed; detail: compliance overrides
    CAMPAIGN_STARTED = "campaign_started"
    CAMPAIGN_PAUSED = "campaign_paused"
    CAMPAIGN_STOPPED = "campaign_stopped"
    LIST_IMPORTED = "list_imported"
    LIST_DELETED = "list_deleted"
    AGENT_ADDED = "agent_added"
    AGENT_UPDATED = "agent_updated"  # interface changed, token rotated (never the token)
    AGENT_PASSWORD = "agent_password"  # set or changed (never the password itself)
    AGENT_ASSIGNED = "agent_assigned"  # to campaigns
    CONSENT_ADDED = "consent_added"
    CONSENT_REVOKED = "consent_revoked"
    CONSENT_IMPORTED = "consent_imported"
    SETTINGS_RELOADED = "settings_reloaded"  # SIGHUP: which keys changed, applied or needing a restart


#: Pause code the engine sets while an agent wraps up a call (the queue must not ring them).
WRAPUP_PAUSE = "wrapup"
#: Pause code of an agent reserved for an owned callback being placed.
CALLBACK_PAUSE = "callback"
#: Pause codes only the engine may set.
RESERVED_PAUSE_CODES = frozenset({WRAPUP_PAUSE, CALLBACK_PAUSE})


#: US state names (lower case) → their two-letter codes: lead files' state columns, and the
#: area-code descriptions of ``phonenumbers``' geocoder.
US_STATE_NAMES = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA",
    "colorado": "CO", "connecticut": "CT", "delaware": "DE", "district of columbia": "DC",
    "florida": "FL", "georgia": "GA", "hawaii": "HI", "idaho": "ID", "illinois": "IL",
    "indiana": "IN", "iowa": "IA", "kansas": "KS", "kentucky": "KY", "louisiana": "LA",
    "maine": "ME", "maryland": "MD", "massachusetts": "MA", "michigan": "MI", "minnesota": "MN",
    "mississippi": "MS", "missouri": "MO", "montana": "MT", "nebraska": "NE", "nevada": "NV",
    "new hampshire": "NH", "new jersey": "NJ", "new mexico": "NM", "new york": "NY",
    "north carolina": "NC", "north dakota": "ND", "ohio": "OH", "oklahoma": "OK", "oregon": "OR",
    "pennsylvania": "PA", "rhode island": "RI", "south carolina": "SC", "south dakota": "SD",
    "tennessee": "TN", "texas": "TX", "utah": "UT", "vermont": "VT", "virginia": "VA",
    "washington": "WA", "west virginia": "WV", "wisconsin": "WI", "wyoming": "WY",
    "puerto rico": "PR", "washington d.c.": "DC",
}
