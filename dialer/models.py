"""Storage models owned by the daemon: dial attempts, agents, agent state history, pacing state."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.schema import Table

from dialer.db import Base, UtcDateTime
from dialer.vocabulary import AgentStatus, CallStatus


class Call(Base):
    """One dial attempt.  Written (status ``placing``) before the Originate is sent; completed
    when the outcome is known."""

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    phone: Mapped[str] = mapped_column(String(20))
    attempt: Mapped[int] = mapped_column(Integer)
    node: Mapped[str] = mapped_column(String(64), default="")
    # The attempt id: the Originate's ChannelId, Uniqueid of the dialled channel on the PBX.
    channel_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    # placing | ringing | answered | connected | ended | unknown
    status: Mapped[str] = mapped_column(String(16), default=CallStatus.PLACING)
    # CONNECTED ABANDONED MACHINE NO_ANSWER BUSY CONGESTION INVALID_NUMBER FAILED (None while live)
    outcome: Mapped[str | None] = mapped_column(String(16))
    hangup_cause: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(String(200))
    ring_timeout: Mapped[int] = mapped_column(Integer)
    placed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    connected_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    agent: Mapped[str | None] = mapped_column(String(64))
    # The agent's disposition of a connected call.
    disposition: Mapped[str | None] = mapped_column(String(32))
    refusal_reason: Mapped[str | None] = mapped_column(String(32))
    callback_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    order_form: Mapped[dict | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    disposed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # What the rules decided after this call (retry_at, finish, dnc, move, callback).
    next_action: Mapped[str | None] = mapped_column(String(200))
    # The call's recording (the campaign's ``[recording]``), until the retention job removes it.
    recording_path: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        Index("ix_calls_campaign_placed", "campaign_id", "placed_at"),
        Index("ix_calls_lead", "lead_id"),
        Index("ix_calls_phone_placed", "phone", "placed_at"),
        Index("ix_calls_status", "status"),
    )


class Agent(Base):
    """A person who takes calls; ``interface`` is their device on the PBX (a queue member)."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    interface: Mapped[str] = mapped_column(String(128))
    # The device whose state the queue follows for this member (QueueAdd ``StateInterface``):
    # needed when ``interface`` is a Local channel that dials onward, e.g. ``PJSIP/agent1`` for
    # ``Local/9001@agents/n``.  None: the interface itself.
    state_interface: Mapped[str | None] = mapped_column(String(128))
    # sha256 of the agent's API token (the token itself is shown once, at creation).
    token_hash: Mapped[str] = mapped_column(String(64))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    # The daemon (one per PBX) the agent last logged in through: only that node adopts the agent
    # after a restart or adds it to a queue (None: never logged in since the column was added).
    node: Mapped[str | None] = mapped_column(String(64))
    # logged_out | ready | reserved | talking | wrapup | paused
    state: Mapped[str] = mapped_column(String(16), default=AgentStatus.LOGGED_OUT)
    pause_code: Mapped[str | None] = mapped_column(String(32))
    state_since: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    # The desktop's sign-in secret (dialer.web.passwords: scrypt), set by ``dialer agents password``.
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # agent | supervisor | admin: supervisors and admins open the wallboard (docs/desktop.md).
    role: Mapped[str] = mapped_column(String(16), default="agent", server_default="agent")


class AgentCampaign(Base):
    """An agent may log in to a campaign (``dialer agents assign``); the desktop offers only these."""

    __tablename__ = "agent_campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))

    __table_args__ = (UniqueConstraint("agent_id", "campaign_id", name="uq_agent_campaigns"),)


class WebSession(Base):
    """A signed-in browser (the desktop or the wallboard): the cookie's token is stored hashed."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AgentStateLog(Base):
    """A span of time an agent spent in one state (for talk minutes per hour, pause reports)."""

    __tablename__ = "agent_state_log"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(String(16))
    pause_code: Mapped[str | None] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_agent_state_log_campaign_started", "campaign_id", "started_at"),)


class AuditEntry(Base):
    """Who did what, when and from where (append-only: database triggers refuse updates and
    deletes; written through :mod:`dialer.storage.audit`)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(100))  # an agent or supervisor name, "admin", "cli:<user>"
    action: Mapped[str] = mapped_column(String(32))  # a dialer.vocabulary.AuditAction
    target: Mapped[str | None] = mapped_column(String(200))  # the agent, call, number, campaign or list
    source: Mapped[str | None] = mapped_column(String(100))  # the client address, "cli", "daemon"
    detail: Mapped[dict | None] = mapped_column(JSON)

    __table_args__ = (Index("ix_audit_log_at", "at"),)


class PacingState(Base):
    """A campaign's learned pacing statistics, so that they survive restarts."""

    __tablename__ = "pacing_state"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class WebhookEvent(Base):
    """The webhook outbox: an event for a campaign's CRM, written in the transaction of the
    outcome it reports and delivered later, in ``id`` order per lead (docs/webhooks.md)."""

    __tablename__ = "webhook_outbox"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # Deterministic (``call-12-connected``): the same fact is never queued twice; the receiver
    # dedupes on it (header ``X-Dialer-Event-Id``).
    event_id: Mapped[str] = mapped_column(String(100), unique=True)
    event: Mapped[str] = mapped_column(String(32))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    lead_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # pending | delivered | failed (gave up after the campaign's max_attempts: ``dialer webhooks retry``)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(String(300))

    __table_args__ = (
        Index("ix_webhook_outbox_status_next", "status", "next_attempt_at"),
        Index("ix_webhook_outbox_lead", "lead_id", "id"),
    )


class AbandonMinute(Base):
    """The campaign-wide abandon ledger: one node's live answers of one campaign in one minute,
    upserted by that node's writer and summed by every node's governor (docs/scaling.md)."""

    __tablename__ = "abandon_minutes"
    __table_args__ = (Index("ix_abandon_minutes_campaign_minute", "campaign_id", "minute"),)

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    node: Mapped[str] = mapped_column(String(64), primary_key=True)
    minute: Mapped[datetime] = mapped_column(UtcDateTime(), primary_key=True)
    abandoned: Mapped[int] = mapped_column(Integer, default=0)
    connected: Mapped[int] = mapped_column(Integer, default=0)


# The tables under their names, for Core queries (imported as objects, never looked up by name).
calls = cast(Table, Call.__table__)
agents = cast(Table, Agent.__table__)
agent_campaigns = cast(Table, AgentCampaign.__table__)
web_sessions = cast(Table, WebSession.__table__)
agent_state_log = cast(Table, AgentStateLog.__table__)
pacing_state = cast(Table, PacingState.__table__)
webhook_outbox = cast(Table, WebhookEvent.__table__)
audit_log = cast(Table, AuditEntry.__table__)
abandon_minutes = cast(Table, AbandonMinute.__table__)
