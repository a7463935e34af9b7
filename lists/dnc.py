"""Do-not-call numbers: global (no campaign) or per campaign.

Public API for other packages::

    add_numbers(conn, ["+12125550143"], campaign_id=None, source="agent", reason="customer asked")
    is_dnc(conn, "+12125550143", campaign_id=7)  # global or campaign 7
    dnc_set(conn, campaign_id=7)                  # every blocked number, for bulk checks

An entry with ``requested_at`` is a person's own request taken by the dialer: it is honoured
until ``honour_until`` (NULL: for ever) and cannot be removed before (:func:`removal_refused`);
the claim honours every entry for as long as it exists.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, or_, select

from dialer.errors import InputError
from lists.columns import map_columns
from lists.models import GLOBAL_SCOPE, DncNumber
from lists.phones import Normaliser
from lists.reader import read_chunks, sniff

DNC = DncNumber.__table__


def scope_of(campaign_id: int | None) -> int:
    return GLOBAL_SCOPE if campaign_id is None else campaign_id


def _insert(conn: Connection):
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(DNC).on_conflict_do_nothing(index_elements=["phone", "scope"])


def add_numbers(
    conn: Connection, numbers: Iterable[str], campaign_id: int | None = None,
    source: str | None = None, reason: str | None = None,
) -> int:
    """Add E.164 numbers to the DNC list of ``campaign_id`` (``None``: global); returns how many were new."""
    return len(add_entries(conn, numbers, campaign_id, source, reason))


def add_entries(
    conn: Connection, numbers: Iterable[str], campaign_id: int | None = None,
    source: str | None = None, reason: str | None = None,
) -> list[tuple[int, str]]:
    """:func:`add_numbers` returning the new entries as (id, number): those already listed are not."""
    rows = [
        {"phone": n, "campaign_id": campaign_id, "scope": scope_of(campaign_id), "source": source, "reason": reason}
        for n in dict.fromkeys(numbers)
    ]
    added: list[tuple[int, str]] = []
    for i in range(0, len(rows), 5000):
        added += [(r.id, r.phone) for r in
                  conn.execute(_insert(conn).returning(DNC.c.id, DNC.c.phone), rows[i:i + 5000]).all()]
    return added


def removal_refused(entry: Mapping[str, Any], now: datetime) -> str | None:
    """Why ``entry`` (a ``dnc_numbers`` row) may not be removed at ``now``; None: it may."""
    requested, until = entry.get("requested_at"), entry.get("honour_until")
    if requested is None:
        return None
    taken = f"a do-not-call request taken on {requested:%Y-%m-%d}"
    if until is None:
        return f"{taken} is honoured for ever (the rule packs that apply state no end)"
    if until > now:
        return f"{taken} must be honoured until {until:%Y-%m-%d} (the longest period of the rule packs that apply)"
    return None


def remove_number(conn: Connection, e164: str, campaign_id: int | None = None, now: datetime | None = None) -> bool:
    """Remove an entry; :class:`InputError` for a request still to be honoured at ``now``."""
    where = (DNC.c.phone == e164, DNC.c.scope == scope_of(campaign_id))
    entry = conn.execute(select(DNC).where(*where)).mappings().first()
    if entry is None:
        return False
    why = removal_refused(entry, now or datetime.now(UTC))
    if why is not None:
        raise InputError(f"{e164}: {why}; not removed")
    return bool(conn.execute(delete(DNC).where(*where)).rowcount)


def entries(conn: Connection, campaign_id: int | None = None, *, requests: bool = False,
            limit: int = 1000) -> list[dict]:
    """DNC entries, newest first: of ``campaign_id`` (None: every scope); only requests with
    ``requests``."""
    q = select(DNC).order_by(DNC.c.created_at.desc(), DNC.c.id.desc()).limit(limit)
    if campaign_id is not None:
        q = q.where(DNC.c.scope == scope_of(campaign_id))
    if requests:
        q = q.where(DNC.c.requested_at.is_not(None))
    return [dict(r) for r in conn.execute(q).mappings()]


def dnc_entries(conn: Connection, e164: str, campaign_id: int | None = None) -> list[dict]:
    """The DNC rows that block ``e164`` for ``campaign_id`` (global ones always count)."""
    scopes = {GLOBAL_SCOPE, scope_of(campaign_id)}
    q = select(DNC).where(DNC.c.phone == e164, DNC.c.scope.in_(scopes)).order_by(DNC.c.scope)
    return [dict(r) for r in conn.execute(q).mappings()]


def is_dnc(conn: Connection, e164: str, campaign_id: int | None = None) -> bool:
    """Whether ``e164`` must not be called (globally, or for ``campaign_id``)."""
    return bool(dnc_entries(conn, e164, campaign_id))


def dnc_set(conn: Connection, campaign_id: int | None = None, *, all_scopes: bool = False) -> set[str]:
    """Every number blocked for ``campaign_id`` (global + that campaign), loaded at once."""
    q = select(DNC.c.phone)
    if not all_scopes:
        q = q.where(or_(DNC.c.scope == GLOBAL_SCOPE, DNC.c.scope == scope_of(campaign_id)))
    return {p for (p,) in conn.execute(q)}


@dataclass
class DncImport:
    read: int = 0
    added: int = 0
    already: int = 0
    rejected: int = 0
    reasons: Counter = field(default_factory=Counter)
    #: The new entries as (id, number), for the caller's own records (not in :meth:`as_dict`).
    entries: list[tuple[int, str]] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict:
        out = asdict(self) | {"reasons": dict(self.reasons)}
        del out["entries"]
        return out


def _text_numbers(path: Path) -> list[str] | None:
    """Numbers of a plain text DNC file (one a line, ``#`` comments), or ``None`` if it is a CSV."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the file ({exc.strerror})") from None
    fmt = sniff(path)
    text = raw.decode(fmt.encoding, errors="replace").lstrip("\ufeff")
    lines = [ln.split("#", 1)[0].strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln]
    if not lines:
        raise InputError(f"{path}: no numbers in the file")
    first = lines[0]
    if not any(ch.isdigit() for ch in first) and map_columns([c.strip() for c in first.split(fmt.delimiter)]).phones:
        return None  # a table with a header naming a phone column: read it as CSV
    return lines


def reasons_text(reasons: Counter) -> str:
    """``Counter({"too_short": 2, "no_region": 1})`` → ``"2 too short, 1 no region"``."""
    return ", ".join(f"{n} {reason.replace('_', ' ')}" for reason, n in reasons.most_common())


def no_region_error(path: Path | str, n: int) -> str:
    return (f"{path}: {n} numbers have no country code and no region is set; nothing added: "
            "give --region (e.g. --region US) or set default_region in the [lists] settings")


def import_file(
    conn: Connection, path: Path | str, campaign_id: int | None = None,
    region: str | None = None, source: str | None = None, *, strict_region: bool = False,
) -> DncImport:
    """Load a DNC file (text, one number a line; or a CSV with a phone column).

    ``strict_region``: national numbers read without a region are an :class:`InputError`
    (raised before anything is added) instead of rejected numbers.
    """
    path = Path(path)
    norm = Normaliser()
    result = DncImport()
    numbers: list[str] = []
    lines = _text_numbers(path)
    if lines is None:
        fmt = sniff(path)
        cmap = map_columns(fmt.header)
        if not cmap.phones:
            raise InputError(f"{path}: no phone column found (columns: {', '.join(fmt.header)})")
        lines = []
        for chunk in read_chunks(fmt):
            for col in cmap.phones:
                lines.extend(v for v in chunk.frame[col].tolist() if v.strip())
    for raw in lines:
        result.read += 1
        n = norm(raw, region)
        if n.e164 is None:
            result.rejected += 1
            result.reasons[n.reason] += 1
        else:
            numbers.append(n.e164)
    if strict_region and result.reasons.get("no_region"):
        raise InputError(no_region_error(path, result.reasons["no_region"]))
    result.entries = add_entries(conn, numbers, campaign_id, source or path.name)
    result.added = len(result.entries)
    result.already = len(numbers) - result.added
    return result
