"""The HTTP API's answers: JSON, every timestamp ISO 8601 with its offset, errors as ``{"error": ...}``."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from starlette.responses import JSONResponse

#: A date and time written without an offset (read back from SQLite): stored times are UTC.
_NAIVE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?")
#: Keys whose string values are timestamps (besides every ``*_at``).
_TIME_KEYS = frozenset({"at", "start", "earliest", "since", "until"})
#: Keys whose values are the customer's data, passed on exactly as imported.
_AS_IMPORTED = frozenset({"lead", "order", "order_form_values"})


def aware_times(value: Any, key: str = "") -> Any:
    """``value`` with datetimes as ISO 8601 strings with an offset (naive ones taken as UTC),
    also where they were already written out without one."""
    if isinstance(value, datetime):
        return (value.replace(tzinfo=UTC) if value.tzinfo is None else value).isoformat()
    if isinstance(value, dict):
        return {k: v if k in _AS_IMPORTED else aware_times(v, k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [aware_times(v, key) for v in value]
    if (isinstance(value, str) and (key.endswith("_at") or key in _TIME_KEYS)
            and _NAIVE_TIME.fullmatch(value)):
        return value + "+00:00"
    return value


class Answer(JSONResponse):
    """A JSON answer with aware timestamps."""

    def render(self, content: Any) -> bytes:
        return json.dumps(aware_times(content), ensure_ascii=False, allow_nan=False,
                          separators=(",", ":")).encode()


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Answer:
    return Answer({"error": message}, status_code=status, headers=headers)
