"""The consent ledger: consent given and revoked, per number and scope (table ``consents``).

Entries are only ever added.  For a number, in the scopes a campaign reads (``"*"``, its seller,
``"campaign:NAME"``: :func:`campaign_scopes`), the latest entry decides, and a revocation wins
a tie: a revocation holds the number until a later consent (:func:`standing`).  The claim reads
the same rule in SQL (``dialer.claim.consent_conditions``).

Public API::

    record(conn, "+12125550143", "revoked", at=now, channel="keypress", scope="acme")
    entries(conn, "+12125550143")                  # every entry, oldest first
    standing(entries, campaign_scopes("p", "acme"))  # "given", "revoked" or None
    import_file(conn, "crm.csv", at=now, column="consent")   # a CRM export's consent column
    release_held(conn, ["+4930..."])               # held leads of these numbers due again

Held leads: where a campaign requires consent, the ``hold_without_consent`` job
(:mod:`dialer.services.jobs`) gives its ``new`` leads without standing consent a due time an
hour ahead and the marker :data:`HELD` in ``last_outcome``, so the claim's index walks stop
before them.  A consent recorded here (:func:`record`, :func:`import_file`, the lead import's
consent column) releases that number's held leads at once, in the same transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select, update

from dialer.errors import InputError
from lists.models import campaign_scopes, consents, leads

__all__ = ["HELD", "KINDS", "NO", "REVOCATION_CHANNELS", "YES", "ConsentImport", "campaign_scopes", "entries", "import_file",
           "parse_value", "parse_when", "record", "release_held", "standing"]

KINDS = ("given", "revoked")
#: How a revocation arrives (the ledger's ``channel`` for ``revoked``).
REVOCATION_CHANNELS = ("disposition", "dnc-button", "keypress", "api", "file", "import", "cli")
YES = _YES = frozenset({"yes", "y", "true", "1", "given", "opt-in", "optin", "consent", "oui", "ja"})
NO = _NO = frozenset({"no", "n", "false", "0", "revoked", "opt-out", "optout", "withdrawn", "non", "nein"})
#: ``leads.last_outcome`` of a ``new`` lead held for lack of consent (no call has an outcome so named).
HELD = "NO_CONSENT"
#: Numbers per release statement.
RELEASE_BATCH = 5000


def release_held(conn: Connection, phones: Iterable[str]) -> int:
    """Held leads (``new``, marked :data:`HELD`) of ``phones`` due again at once: ``next_call_at``
    and the marker cleared.  Returns how many.  Every campaign's leads of the number are released
    (whatever the consent's scope): a lead still without consent where it is required is not
    claimed, and the next ``hold_without_consent`` run holds it again."""
    numbers = sorted(set(phones))
    held = (leads.c.status == "new", leads.c.next_call_at.is_not(None), leads.c.last_outcome == HELD)
    if len(numbers) > RELEASE_BATCH and conn.execute(select(leads.c.id).where(*held).limit(1)).first() is None:
        return 0  # a large file and no lead held (ix_leads_status_next_call_at: one short range)
    done = 0
    for i in range(0, len(numbers), RELEASE_BATCH):
        done += conn.execute(
            update(leads).where(leads.c.phone.in_(numbers[i:i + RELEASE_BATCH]), *held)
            .values(next_call_at=None, last_outcome=None)
        ).rowcount or 0
    return done


def record(conn: Connection, phone: str, kind: str, *, at: datetime, channel: str, scope: str = "*",
           evidence: str | None = None, source: str | None = None) -> int:
    """Add one entry; returns its id.  ``phone`` is E.164; ``at`` an aware time.  A consent
    (``given``) releases the number's held leads (:func:`release_held`); a revocation does not."""
    if kind not in KINDS:
        raise InputError(f"kind must be one of {', '.join(KINDS)} (got {kind!r})")
    if not scope.strip():
        raise InputError("scope must not be empty ('*' for every campaign)")
    entry = conn.execute(insert(consents).values(
        phone=phone, kind=kind, at=at, channel=channel, scope=scope, evidence=evidence, source=source,
    ).returning(consents.c.id)).scalar_one()
    if kind == "given":
        release_held(conn, [phone])
    return entry


def entries(conn: Connection, phone: str | None = None, scope: str | None = None, limit: int = 1000) -> list[dict]:
    """Entries (of ``phone``, in ``scope``), oldest first."""
    q = select(consents).order_by(consents.c.at, consents.c.id).limit(limit)
    if phone:
        q = q.where(consents.c.phone == phone)
    if scope:
        q = q.where(consents.c.scope == scope)
    return [dict(r) for r in conn.execute(q).mappings()]


def standing(rows: Iterable[Any], scopes: Sequence[str]) -> str | None:
    """``"given"``, ``"revoked"`` or None: the latest entry in ``scopes`` (a revocation wins a tie)."""
    best: tuple[datetime, int] | None = None
    kind = None
    for r in rows:
        r = r if isinstance(r, dict) else r._mapping
        if r["scope"] not in scopes:
            continue
        at = r["at"] if r["at"].tzinfo else r["at"].replace(tzinfo=UTC)
        key = (at, 1 if r["kind"] == "revoked" else 0)
        if best is None or key >= best:
            best, kind = key, r["kind"]
    return kind


@dataclass
class ConsentImport:
    read: int = 0
    given: int = 0
    revoked: int = 0
    skipped: int = 0
    rejected: int = 0
    reasons: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return asdict(self) | {"reasons": dict(self.reasons)}


def parse_when(value: str) -> datetime:
    """An ISO date or time (UTC when it has no offset) → an aware time; :class:`ValueError` if not one."""
    parsed = datetime.fromisoformat(value.strip())
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_value(value: str) -> tuple[str | None, datetime | None]:
    """A consent cell → ``(kind, day)``: ``("given", None)`` for yes/opt-in/..., ``("revoked",
    None)`` for no/opt-out/..., ``(None, None)`` for an empty cell, ``("given", that day)`` for a
    date (the day consent was given); :class:`ValueError` for anything else."""
    text = value.strip()
    if not text:
        return None, None
    low = text.lower()
    if low in _YES:
        return "given", None
    if low in _NO:
        return "revoked", None
    day = date.fromisoformat(text[:10])  # ValueError when it is not a date either
    if len(text) > 10 and text[10] not in "T ":
        raise ValueError(text)
    return "given", datetime.combine(day, datetime.min.time(), UTC)


def _when(value: str, default: datetime, where: str) -> datetime:
    try:
        return parse_when(value)
    except ValueError:
        raise InputError(f"{where}: expected a date like 2026-05-01 or 2026-05-01T10:00:00Z (got {value!r})") from None


def _verdict(value: str, default_kind: str, where: str) -> tuple[str | None, datetime | None]:
    """A CRM consent cell → (kind or None to skip, the date it holds if it is one)."""
    try:
        kind, day = parse_value(value)
    except ValueError:
        raise InputError(f"{where}: expected yes/no or a date (got {value!r})") from None
    return (default_kind if day is not None else kind), day


def import_file(
    conn: Connection, path: Path | str, *, at: datetime, kind: str = "given", scope: str = "*",
    column: str | None = None, channel: str = "file", region: str | None = None,
) -> ConsentImport:
    """Load a CSV with a phone column: every row is a ``kind`` entry, or, with ``column`` (a CRM
    export's consent column), whatever that cell says: yes/no, opt-in/opt-out, or the date
    consent was given; empty cells are skipped.  Optional columns ``date`` / ``consent_at`` (when)
    and ``evidence``.  A bad cell, or a date later than ``at``, is an :class:`InputError` naming
    file, row and column, and nothing is recorded.  The numbers given consent have their held
    leads released (:func:`release_held`)."""
    from lists.columns import map_columns
    from lists.phones import Normaliser
    from lists.reader import read_chunks, sniff

    if kind not in KINDS:
        raise InputError(f"kind must be one of {', '.join(KINDS)} (got {kind!r})")
    path = Path(path)
    fmt = sniff(path)
    cmap = map_columns(fmt.header)
    if not cmap.phones:
        raise InputError(f"{path}: no phone column found (columns: {', '.join(fmt.header)})")
    by_name = {c.strip().lower(): c for c in fmt.header}
    if column is not None and column.strip().lower() not in by_name:
        raise InputError(f"{path}: no column {column!r} (columns: {', '.join(fmt.header)})")
    crm = by_name.get(column.strip().lower()) if column else None
    when_col = by_name.get("consent_at") or by_name.get("date")
    evidence_col = by_name.get("evidence")
    norm = Normaliser()
    out = ConsentImport()
    rows: list[dict] = []
    for chunk in read_chunks(fmt):
        frame = chunk.frame
        for i, row_no in enumerate(chunk.rows):
            out.read += 1
            entry_kind: str | None = kind
            when = at
            if crm is not None:
                entry_kind, day = _verdict(frame[crm].iat[i], kind, f"{path}: row {row_no}: {crm}")
                when = day or when
            if when_col is not None and frame[when_col].iat[i].strip():
                when = _when(frame[when_col].iat[i], at, f"{path}: row {row_no}: {when_col}")
            if when > at:  # a future entry would outrank every revocation made before it
                raise InputError(f"{path}: row {row_no}: {when_col or crm}: {when.isoformat()} is later than "
                                 f"the import ({at.isoformat()}): an entry cannot be dated in the future")
            if entry_kind is None:
                out.skipped += 1
                continue
            phone = next((p for col in cmap.phones if (p := norm(frame[col].iat[i], region).e164)), None)
            if phone is None:
                out.rejected += 1
                out.reasons[norm(frame[cmap.phones[0]].iat[i], region).reason] += 1
                continue
            evidence = frame[evidence_col].iat[i].strip() if evidence_col else ""
            rows.append({"phone": phone, "kind": entry_kind, "at": when, "channel": channel, "scope": scope,
                         "evidence": evidence or f"{path.name} row {row_no}", "source": path.name})
            out.given += entry_kind == "given"
            out.revoked += entry_kind == "revoked"
    for i in range(0, len(rows), 5000):
        conn.execute(insert(consents), rows[i:i + 5000])
    release_held(conn, (r["phone"] for r in rows if r["kind"] == "given"))
    return out
