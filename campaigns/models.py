"""Storage models owned by campaigns (the table is exported as ``campaigns`` for Core queries)."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import JSON, DateTime, Integer, String, Table, func
from sqlalchemy.orm import Mapped, mapped_column

from dialer.db import Base


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # draft | active | paused | stopped
    status: Mapped[str] = mapped_column(String(16), default="draft")
    # The validated campaign definition (the TOML file as data).
    definition: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


campaigns = cast(Table, Campaign.__table__)
