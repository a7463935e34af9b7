"""``dialer lists export``: a list's leads to a spreadsheet-safe CSV, streamed."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from sqlalchemy import Connection, select

from dialer.errors import InputError
from lists.csvsafe import safe_row
from lists.models import Lead
from lists.store import get_list

COLUMNS = ("id", "phone", "alt_phones", "first_name", "last_name", "state", "postal_code", "country",
           "timezones", "external_id", "status", "attempts", "last_outcome", "last_call_at",
           "next_call_at", "source_row")


def _cell(value: object) -> object:
    if isinstance(value, list):
        return " ".join(value)
    return value


def export_list(conn: Connection, name: str, out: Path | str) -> int:
    """Write every lead of list ``name`` to ``out``; custom fields become extra columns."""
    info = get_list(conn, name)
    t = Lead.__table__
    q = select(*(t.c[c] for c in COLUMNS), t.c.custom).where(t.c.list_id == info["id"]).order_by(t.c.id)
    # Custom columns: the union of keys, in first-seen order (one light pass over the JSON).
    keys: dict[str, None] = {}
    for (custom,) in conn.execute(select(t.c.custom).where(t.c.list_id == info["id"])):
        data = json.loads(custom) if isinstance(custom, str) else (custom or {})
        keys.update(dict.fromkeys(data))
    extra = [k for k in keys if k not in COLUMNS]
    out = Path(out)
    n = 0
    try:
        fh = out.open("w", newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"{out}: cannot write the file ({exc.strerror})") from None
    with fh:
        w = csv.writer(fh)
        w.writerow(safe_row([*COLUMNS, *extra]))
        for row in conn.execution_options(stream_results=True, yield_per=10_000).execute(q):
            custom = row[-1] or {}
            w.writerow(safe_row([_cell(v) for v in row[:-1]] + [custom.get(k, "") for k in extra]))
            n += 1
    return n
