"""List audit: time zones to check, mobile versus fixed-line numbers, duplicates across lists.

:func:`audit_list` reads one list's leads once and reports, each with a count and an example:

- ``ambiguous_zone``: several candidate zones (calls only when the window is open in all of
  them, so a narrower window);
- ``zone_mismatch``: the number's zones (phonenumbers), the address's zones (state / ZIP) and the
  stored ``timezones`` (an explicit zone column when the file had one) do not meet — any two that
  are both known and share no zone;
- number types (``mobile``, ``fixed_line``, ``fixed_line_or_mobile`` — NANP numbers cannot be
  told apart — ``voip``, ``toll_free``, ...);
- ``duplicate``: the number is also on another list of the same campaign (or twice on this one).

:func:`export_affected` writes the affected leads to a spreadsheet-safe CSV.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import phonenumbers
from sqlalchemy import Connection, func, select

from lists.csvsafe import safe_row
from lists.models import Lead, LeadList
from lists.phones import normalise
from lists.store import get_list
from lists.timezones import location_zones

LEADS = Lead.__table__
LISTS = LeadList.__table__
ISSUES = ("ambiguous_zone", "zone_mismatch", "duplicate")
LABELS = {
    "ambiguous_zone": "ambiguous time zone (several candidates: a narrower window)",
    "zone_mismatch": "number's zone disagrees with the address or the zone column",
    "duplicate": "number also on another list of the campaign",
}
EXPORT_COLUMNS = ("id", "list", "phone", "issues", "detail", "timezones", "number_zones", "address_zones",
                  "state", "postal_code", "country", "number_type", "status", "first_name", "last_name")
_TYPE_NAMES = {v: k.lower() for k, v in vars(phonenumbers.PhoneNumberType).items() if k.isupper()}


@lru_cache(maxsize=65536)
def number_type(e164: str) -> str:
    """``mobile``, ``fixed_line``, ``fixed_line_or_mobile``, ``voip``, ... or ``unknown``."""
    try:
        return _TYPE_NAMES.get(phonenumbers.number_type(phonenumbers.parse(e164)), "unknown")
    except phonenumbers.NumberParseException:
        return "unknown"


@dataclass
class Finding:
    count: int = 0
    example: dict[str, Any] | None = None

    def add(self, example: dict[str, Any]) -> None:
        self.count += 1
        if self.example is None:
            self.example = example


@dataclass
class AuditReport:
    list: str
    campaign: str | None
    leads: int
    issues: dict[str, Finding] = field(default_factory=lambda: {k: Finding() for k in ISSUES})
    number_types: dict[str, Finding] = field(default_factory=dict)
    mismatch_kinds: dict[str, int] = field(default_factory=dict)
    #: lead id → (issues, detail, row) of the affected leads (for the export)
    affected: dict[int, tuple[list[str], list[str], dict[str, Any]]] = field(default_factory=dict, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "list": self.list, "campaign": self.campaign, "leads": self.leads,
            "issues": {k: {"label": LABELS[k], "count": f.count, "example": f.example} for k, f in self.issues.items()},
            "zone_mismatch_kinds": self.mismatch_kinds,
            "number_types": {k: {"count": f.count, "example": f.example} for k, f in
                             sorted(self.number_types.items(), key=lambda kv: -kv[1].count)},
            "affected_leads": len(self.affected),
        }


def _mismatches(stored: set[str], number: set[str], address: set[str]) -> list[str]:
    pairs = (("number_vs_address", number, address), ("number_vs_zone_column", number, stored),
             ("address_vs_zone_column", address, stored))
    return [name for name, a, b in pairs if a and b and not a & b]


def audit_list(conn: Connection, name: str, campaign: str | None = None) -> AuditReport:
    """Audit the list ``name`` (:class:`dialer.errors.InputError` when unknown); ``campaign``: the
    name of its campaign, for the report (:func:`dialer.services.listings.audit_list` gives it)."""
    lst = get_list(conn, name)
    others: dict[str, str] = {}
    if lst["campaign_id"] is not None:
        sibling = select(LISTS.c.id).where(LISTS.c.campaign_id == lst["campaign_id"], LISTS.c.id != lst["id"])
        mine = select(LEADS.c.phone).where(LEADS.c.list_id == lst["id"])
        others = dict(conn.execute(
            select(LEADS.c.phone, func.min(LISTS.c.name))
            .select_from(LEADS.join(LISTS, LISTS.c.id == LEADS.c.list_id))
            .where(LEADS.c.list_id.in_(sibling), LEADS.c.phone.in_(mine)).group_by(LEADS.c.phone)
        ).all())
    twice = {p for (p,) in conn.execute(
        select(LEADS.c.phone).where(LEADS.c.list_id == lst["id"]).group_by(LEADS.c.phone).having(func.count() > 1)
    )}
    report = AuditReport(name, campaign, 0)
    rows = conn.execute(
        select(LEADS.c.id, LEADS.c.phone, LEADS.c.timezones, LEADS.c.state, LEADS.c.postal_code, LEADS.c.country,
               LEADS.c.status, LEADS.c.first_name, LEADS.c.last_name)
        .where(LEADS.c.list_id == lst["id"]).order_by(LEADS.c.id)
    )
    for r in rows:
        report.leads += 1
        n = normalise(r.phone)
        ntype = number_type(r.phone)
        base = {"id": r.id, "phone": r.phone}
        report.number_types.setdefault(ntype, Finding()).add(base)
        stored = set(r.timezones.split())
        number = set(n.zones)
        address = set(location_zones(n.region or r.country, r.state or "", r.postal_code or "")) \
            if (r.state or r.postal_code) else set()
        issues: list[str] = []
        detail: list[str] = []
        if len(stored) > 1:
            report.issues["ambiguous_zone"].add({**base, "timezones": r.timezones})
            issues.append("ambiguous_zone")
            detail.append(f"{len(stored)} candidate zones")
        kinds = _mismatches(stored, number, address)
        if kinds:
            report.issues["zone_mismatch"].add({**base, "timezones": r.timezones, "number_zones": " ".join(sorted(number)),
                                                "address_zones": " ".join(sorted(address)), "state": r.state,
                                                "postal_code": r.postal_code, "kinds": kinds})
            for k in kinds:
                report.mismatch_kinds[k] = report.mismatch_kinds.get(k, 0) + 1
            issues.append("zone_mismatch")
            detail += kinds
        if r.phone in others or r.phone in twice:
            where = f"also on list {others[r.phone]}" if r.phone in others else "twice on this list"
            report.issues["duplicate"].add({**base, "also_on": others.get(r.phone, name)})
            issues.append("duplicate")
            detail.append(where)
        if issues:
            report.affected[r.id] = (issues, detail, {
                "id": r.id, "list": name, "phone": r.phone, "timezones": r.timezones,
                "number_zones": " ".join(sorted(number)), "address_zones": " ".join(sorted(address)),
                "state": r.state, "postal_code": r.postal_code, "country": r.country, "number_type": ntype,
                "status": r.status, "first_name": r.first_name, "last_name": r.last_name,
            })
    return report


def export_affected(report: AuditReport, out: Path | str) -> int:
    """Write the affected leads to a spreadsheet-safe CSV (UTF-8 with BOM); returns how many."""
    with open(out, "w", newline="", encoding="utf-8-sig") as fh:
        w = csv.writer(fh)
        w.writerow(EXPORT_COLUMNS)
        for issues, detail, row in report.affected.values():
            values = {**row, "issues": " ".join(issues), "detail": "; ".join(detail)}
            w.writerow(safe_row([values.get(c) for c in EXPORT_COLUMNS]))
    return len(report.affected)


def print_audit(report: AuditReport) -> None:
    """The audit as rich tables."""
    from rich.console import Console
    from rich.table import Table

    def example(e: dict[str, Any] | None) -> str:
        if not e:
            return ""
        return ", ".join(f"{k}: {v}" for k, v in e.items() if v not in (None, "", []))

    console = Console()
    table = Table(title=f"list {report.list} (campaign {report.campaign or '-'}): {report.leads:,} leads")
    table.add_column("check")
    table.add_column("leads", justify="right")
    table.add_column("example")
    for k, f in report.issues.items():
        table.add_row(LABELS[k], f"{f.count:,}", example(f.example))
    for k, n in report.mismatch_kinds.items():
        table.add_row(f"  {k.replace('_', ' ')}", f"{n:,}", "")
    console.print(table)
    types = Table(title="number types")
    types.add_column("type")
    types.add_column("leads", justify="right")
    types.add_column("example")
    for k, f in sorted(report.number_types.items(), key=lambda kv: -kv[1].count):
        types.add_row(k.replace("_", " "), f"{f.count:,}", example(f.example))
    console.print(types)
