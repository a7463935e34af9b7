"""Storage models of the scheduled jobs: one row per job run, one heartbeat per running node.

Written by :mod:`dialer.scheduler`, read by the jobs (:mod:`dialer.services.jobs`); the tables are
exported under their names (``job_runs``, ``node_heartbeats``) for Core queries.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import JSON, BigInteger, DateTime, Index, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column

from dialer.db import Base


class JobRun(Base):
    """One run of a scheduled job (``result``: running | ok | error)."""

    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_job_started", "job", "started_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    node: Mapped[str] = mapped_column(String(64))
    trigger: Mapped[str] = mapped_column(String(16))  # cron | catch-up | manual
    scheduled_for: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    result: Mapped[str] = mapped_column(String(16))
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    message: Mapped[str | None] = mapped_column(Text)


class NodeHeartbeat(Base):
    """A running process (daemon or jobs-only scheduler) says it is alive every few seconds."""

    __tablename__ = "node_heartbeats"

    node: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))  # daemon | scheduler
    pid: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    pbx: Mapped[str | None] = mapped_column(String(200))  # the AMI address of the node's PBX
    version: Mapped[str | None] = mapped_column(String(32))  # the dialer's version


job_runs = cast(Table, JobRun.__table__)
node_heartbeats = cast(Table, NodeHeartbeat.__table__)
