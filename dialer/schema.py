"""Imports every model module so that ``Base.metadata`` holds the whole schema (for Alembic)."""

import campaigns.models  # noqa: F401
import dialer.models  # noqa: F401
import lists.models  # noqa: F401
from dialer.db import Base

# isort: split
import campaigns.jobs  # noqa: F401  (job_runs, node_heartbeats; reads the tables above)

metadata = Base.metadata
