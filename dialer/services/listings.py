"""Lead lists as the CLI and the API show them: with their campaign's name."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, distinct, func, or_, select

from campaigns.models import campaigns as campaigns_t
from campaigns.store import name_of
from dialer.errors import Conflict
from dialer.models import calls
from dialer.vocabulary import CampaignStatus
from lists import audit, store
from lists.models import lead_lists, leads
from lists.store import get_list, lead_counts


def list_summaries(conn: Connection, *, archived: bool = False) -> list[dict[str, Any]]:
    """Every list with its campaign name and lead counts (total and still ``new``); archived
    lists only when ``archived``."""
    c = campaigns_t
    counts = (
        select(
            leads.c.list_id,
            func.count().label("leads"),
            func.sum((leads.c.status == "new").cast(leads.c.attempts.type)).label("new"),
        )
        .group_by(leads.c.list_id)
        .subquery()
    )
    q = (
        select(lead_lists.c.id, lead_lists.c.name, c.c.name.label("campaign"), lead_lists.c.active,
               lead_lists.c.priority, lead_lists.c.created_at, lead_lists.c.archived_at, func.coalesce(counts.c.leads, 0).label("leads"),
               func.coalesce(counts.c.new, 0).label("new"))
        .select_from(lead_lists.outerjoin(c, c.c.id == lead_lists.c.campaign_id)
                     .outerjoin(counts, counts.c.list_id == lead_lists.c.id))
        .where(lead_lists.c.archived_at.is_(None) | archived)
        .order_by(lead_lists.c.name)
    )
    return [dict(r) for r in conn.execute(q).mappings()]


def list_details(conn: Connection, name: str) -> dict[str, Any]:
    """One list: its fields, its campaign's name, lead counts by status, and its import runs
    (newest first)."""
    info = get_list(conn, name)
    info["campaign"] = name_of(conn, info["campaign_id"])
    info.update(lead_counts(conn, info["id"]))
    return info


def audit_list(conn: Connection, name: str) -> audit.AuditReport:
    """:func:`lists.audit.audit_list`, the report naming the list's campaign."""
    return audit.audit_list(conn, name, campaign=name_of(conn, get_list(conn, name)["campaign_id"]))



@dataclass(frozen=True)
class Removal:
    """What ``dialer lists delete`` did: leads deleted, leads kept (with history), archived or gone."""

    list: str
    deleted_leads: int
    kept_leads: int
    archived: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _called(list_id: int):
    """Ids of the list's leads with call history (a call row)."""
    return select(calls.c.lead_id).join(leads, leads.c.id == calls.c.lead_id).where(leads.c.list_id == list_id)


def remove_list(conn: Connection, name: str, now: datetime, *, archive: bool = False, force: bool = False) -> Removal:
    """Delete a list, never its call history.

    A list whose leads have calls (or attempts) is refused (:class:`Conflict`) unless
    ``archive`` (deactivate and mark archived, every lead kept) or ``force`` (delete the leads
    never called, archive the list with the others). Refused whatever the mode while an active
    campaign dials the list.
    """
    info = get_list(conn, name)
    list_id = info["id"]
    if info["campaign_id"] is not None:
        status = conn.execute(select(campaigns_t.c.status).where(campaigns_t.c.id == info["campaign_id"])).scalar()
        if status == CampaignStatus.ACTIVE:
            campaign = name_of(conn, info["campaign_id"])
            raise Conflict(f"list {name!r} is being dialled by campaign {campaign!r} (active): "
                           f"pause or stop it first (`dialer campaigns pause {campaign}`)")
    history = or_(leads.c.attempts > 0, leads.c.id.in_(_called(list_id)))
    with_history = conn.execute(
        select(func.count()).select_from(leads).where(leads.c.list_id == list_id, history)).scalar_one()
    if not with_history:
        return Removal(name, store.delete_list(conn, list_id), 0, archived=False)
    if not (archive or force):
        n_calls = conn.execute(select(func.count(distinct(calls.c.id))).where(
            calls.c.lead_id.in_(_called(list_id)))).scalar_one()
        raise Conflict(
            f"list {name!r} has {with_history} leads with call history ({n_calls} calls): deleting them "
            "would erase it; use --archive to keep the list and its leads for history (never dialled "
            "again), or --force to delete only the leads never called and archive the rest")
    deleted = store.delete_leads_not_in(conn, list_id, _called(list_id)) if force else 0
    store.archive_list(conn, list_id, now)
    kept = conn.execute(select(func.count()).select_from(leads).where(leads.c.list_id == list_id)).scalar_one()
    return Removal(name, deleted, kept, archived=True)
