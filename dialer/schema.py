"""Imports every model module so that ``Base.metadata`` holds the whole schema (for Alembic).

Only the migrations (and tests that compare the schema) need this; code that queries a table
imports it from the models module that owns it (``from lists.models import leads``).
"""

import campaigns.models  # noqa: F401
import dialer.job_models
import dialer.models  # noqa: F401
import lists.models  # noqa: F401
from dialer.db import Base

metadata = Base.metadata
