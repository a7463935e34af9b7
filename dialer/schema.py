"""Imports every model module so that ``Base.metadata`` holds the whole schema (for Alembic)."""

import lists.models  # noqa: F401

import campaigns.models  # noqa: F401
import dialer.models  # noqa: F401
from dialer.db import Base

metadata = Base.metadata
