"""Storage models owned by lists: lead lists, leads, do-not-call numbers and import runs.

Each table is also exported under its table name (``leads``, ``lead_lists``, ...) for Core
queries: import the table object, never look it up in ``Base.metadata`` by name.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    false,
    func,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from dialer.db import Base, UtcDateTime

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigId = BigInteger().with_variant(Integer, "sqlite")

#: ``dnc_numbers.scope`` for a number that is on the global list (no campaign).
GLOBAL_SCOPE = 0


class LeadList(Base):
    __tablename__ = "lead_lists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="SET NULL"), nullable=True, index=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    source_file: Mapped[str | None] = mapped_column(String, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Set when the list was deleted with call history: the list is inactive for good, its
    # leads stay for the calls' history (reports, abandon ledger) and are never claimed again.
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Lead(Base):
    """One person to call. ``status`` is ``new`` after import; the dialer moves it on."""

    __tablename__ = "leads"
    __table_args__ = (
        Index("ix_leads_status_next_call_at", "status", "next_call_at"),
        Index("ix_leads_list_id", "list_id"),
        Index("ix_leads_phone", "phone"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lead_lists.id", ondelete="CASCADE"))
    phone: Mapped[str] = mapped_column(String(16))  # E.164
    alt_phones: Mapped[list] = mapped_column(JSON, default=list)  # more E.164 numbers
    first_name: Mapped[str | None] = mapped_column(String, nullable=True)
    last_name: Mapped[str | None] = mapped_column(String, nullable=True)
    state: Mapped[str | None] = mapped_column(String, nullable=True)
    postal_code: Mapped[str | None] = mapped_column(String, nullable=True)
    country: Mapped[str | None] = mapped_column(String(2), nullable=True)  # ISO 3166 alpha-2
    # Candidate IANA zones, space-separated; several when the number is ambiguous.
    timezones: Mapped[str] = mapped_column(String, default="", server_default="")
    external_id: Mapped[str | None] = mapped_column(String, nullable=True)
    custom: Mapped[dict] = mapped_column(JSON, default=dict)  # unmapped columns
    status: Mapped[str] = mapped_column(String(16), default="new", server_default="new")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    next_call_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_call_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # A callback owned by an agent: offered only to them (while logged in to the campaign)
    # until ``callback_exclusive_until``, then to anyone (see dialer.claim).
    callback_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    callback_exclusive_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    source_row: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


# The claim's index (migration 0003): one ordered walk per (list, status, open zone set).  On
# PostgreSQL the due time sorts NULLS FIRST (SQLite's default for ascending order).
Index(
    "ix_leads_claim",
    Lead.list_id,
    Lead.status,
    Lead.timezones,
    Lead.next_call_at.asc().nulls_first(),
    Lead.priority.desc(),
    Lead.id,
)


class DncNumber(Base):
    """A do-not-call number: global (``campaign_id`` NULL, ``scope`` 0) or for one campaign.

    ``scope`` repeats ``campaign_id`` as a non-null value so that one unique constraint
    (phone, scope) works on SQLite and PostgreSQL alike (NULLs never collide in UNIQUE).
    """

    __tablename__ = "dnc_numbers"
    __table_args__ = (UniqueConstraint("phone", "scope", name="uq_dnc_numbers_phone_scope"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    phone: Mapped[str] = mapped_column(String(16))
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=True
    )
    scope: Mapped[int] = mapped_column(Integer, default=GLOBAL_SCOPE, server_default=text("0"))
    source: Mapped[str | None] = mapped_column(String, nullable=True)
    reason: Mapped[str | None] = mapped_column(String, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # A person's own request taken by the dialer (DNC button, opt-out keypress, a disposition or
    # rule): when, and until when it must be honoured (NULL: for ever) — the longest period of
    # the packs that apply to the number (migration 0012).  NULL ``requested_at``: an entry of
    # the operator's (an imported list, ``dnc add``), removable at will.
    requested_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    honour_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class Consent(Base):
    """One entry of the consent ledger: consent given or revoked for a number, in a scope.

    ``scope``: ``"*"`` (every campaign), a seller's name (every campaign of that seller) or
    ``"campaign:NAME"``.  ``kind`` ``given`` or ``revoked``; ``channel`` says how (for consent:
    ``web``, ``call``, ``crm``, ``file`` ...; for a revocation: ``disposition``, ``dnc-button``,
    ``keypress``, ``api``, ``file``, ``cli``); ``evidence`` the text or reference kept as proof.
    The latest entry of a number in a scope decides; entries are never updated or deleted.
    """

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_phone_at", "phone", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    phone: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(120), default="*", server_default=text("'*'"))
    kind: Mapped[str] = mapped_column(String(8))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    channel: Mapped[str] = mapped_column(String(40))
    evidence: Mapped[str | None] = mapped_column(String, nullable=True)
    source: Mapped[str | None] = mapped_column(String, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


def campaign_scopes(campaign: str, seller: str = "") -> tuple[str, ...]:
    """The consent-ledger scopes a campaign reads: every campaign's, its seller's, its own."""
    return tuple(sorted({"*", f"campaign:{campaign}", *([seller] if seller else [])}))


class ImportRun(Base):
    """One ``dialer lists import`` that was committed: the file, when, and what became of its rows."""

    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lead_lists.id", ondelete="CASCADE"), index=True)
    file: Mapped[str] = mapped_column(String)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    rows_read: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    imported: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    rejected: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    duplicates: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    dnc: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    reasons: Mapped[dict] = mapped_column(JSON, default=dict)
    rejected_file: Mapped[str | None] = mapped_column(String, nullable=True)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


lead_lists = cast(Table, LeadList.__table__)
leads = cast(Table, Lead.__table__)
dnc_numbers = cast(Table, DncNumber.__table__)
import_runs = cast(Table, ImportRun.__table__)
consents = cast(Table, Consent.__table__)
