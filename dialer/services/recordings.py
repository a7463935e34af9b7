"""Call recordings: where a call's recording is, and the retention that removes old ones.

The session stores the path of a connected call's recording when its campaign records
(``[recording]``, :mod:`campaigns.integrations`); Asterisk writes the file (MixMonitor).
:func:`purge_expired` deletes the files older than their campaign's ``retention_days`` and
clears the path (the ``purge_recordings`` job, :mod:`dialer.services.jobs`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.engine import Connection

from campaigns.integrations import RecordingSettings, parse_recording
from campaigns.models import campaigns
from campaigns.parsing import Problems
from dialer.errors import InputError
from dialer.models import calls

log = logging.getLogger("dialer.jobs")


def path_stmt(call_id: int) -> Select:
    return select(calls.c.id, calls.c.recording_path).where(calls.c.id == call_id)


def recording_path(conn: Connection, call_id: int) -> str | None:
    """The stored path of call ``call_id``'s recording (None: none, or purged); InputError
    when there is no such call."""
    row = conn.execute(path_stmt(call_id)).first()
    if row is None:
        raise InputError(f"unknown call {call_id}")
    return row.recording_path


def recent(conn: Connection, limit: int = 20) -> list[dict[str, Any]]:
    """The latest calls with a recording still stored, newest first (the wallboard's list)."""
    ended = func.coalesce(calls.c.ended_at, calls.c.placed_at)
    rows = conn.execute(
        select(calls.c.id, campaigns.c.name.label("campaign"), calls.c.agent, ended.label("ended_at"),
               calls.c.disposition)
        .join(campaigns, campaigns.c.id == calls.c.campaign_id)
        .where(calls.c.recording_path.is_not(None)).order_by(ended.desc(), calls.c.id.desc()).limit(limit)
    ).all()
    return [{"call_id": r.id, "campaign": r.campaign, "agent": r.agent, "ended_at": r.ended_at,
             "disposition": r.disposition, "url": f"/api/calls/{r.id}/recording"} for r in rows]


def retention_of(definition: Any) -> RecordingSettings:
    """A stored campaign definition's recording settings (the defaults when it has none)."""
    return parse_recording((definition or {}).get("recording"), Problems())


def recorded_campaigns_stmt() -> Select:
    """Campaigns with at least one recording still stored."""
    has = select(calls.c.id).where(calls.c.campaign_id == campaigns.c.id, calls.c.recording_path.is_not(None))
    return select(campaigns.c.id, campaigns.c.name, campaigns.c.definition).where(has.exists())


def expired_stmt(campaign_id: int, before: datetime, limit: int = 5000) -> Select:
    """A campaign's calls whose recording is older than ``before`` (by the call's end)."""
    ended = func.coalesce(calls.c.ended_at, calls.c.placed_at)
    return (select(calls.c.id, calls.c.recording_path)
            .where(calls.c.campaign_id == campaign_id, calls.c.recording_path.is_not(None), ended < before)
            .order_by(calls.c.id).limit(limit))


def remove_file(path: str) -> str:
    """Delete one recording: ``deleted``, ``missing`` (already gone) or ``failed``."""
    try:
        Path(path).unlink()
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        log.warning("cannot delete a recording", extra={"path": path, "error": exc.strerror})
        return "failed"
    return "deleted"


def purge_expired(conn: Connection, now: datetime) -> dict[str, int]:
    """Delete the recordings past their campaign's retention and clear their paths (a file
    that cannot be deleted keeps its path, to be tried again at the next run)."""
    counts = {"deleted": 0, "missing": 0, "failed": 0}
    for camp in conn.execute(recorded_campaigns_stmt()).all():
        before = now - timedelta(days=retention_of(camp.definition).retention_days)
        for row in conn.execute(expired_stmt(camp.id, before)).all():
            result = remove_file(row.recording_path)
            counts[result] += 1
            if result != "failed":
                conn.execute(update(calls).where(calls.c.id == row.id).values(recording_path=None))
    return counts
