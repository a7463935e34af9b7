"""Structured logging: text or one JSON object per line, with phone numbers masked on request."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any

_E164 = re.compile(r"\+\d{6,15}")
_STD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


def mask_number(number: str) -> str:
    """``+12125550143`` → ``+1212555**43``: enough to tell calls apart, not to dial."""
    if len(number) <= 6:
        return number
    return number[:-4] + "**" + number[-2:]


class _Formatter(logging.Formatter):
    def __init__(self, as_json: bool, mask: bool) -> None:
        super().__init__()
        self.as_json = as_json
        self.mask = mask

    def _clean(self, text: str) -> str:
        return _E164.sub(lambda m: mask_number(m.group()), text) if self.mask else text

    def format(self, record: logging.LogRecord) -> str:
        extra: dict[str, Any] = {k: v for k, v in record.__dict__.items() if k not in _STD}
        message = self._clean(record.getMessage())
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"
        if self.as_json:
            data = {
                "ts": ts,
                "level": record.levelname.lower(),
                "logger": record.name,
                "msg": message,
            }
            data.update({k: self._clean(str(v)) if isinstance(v, str) else v for k, v in extra.items()})
            if record.exc_info:
                data["exc"] = self.formatException(record.exc_info)
            return json.dumps(data, default=str)
        fields = " ".join(f"{k}={self._clean(str(v))}" for k, v in extra.items())
        line = f"{ts} {record.levelname:<7} {record.name}: {message}"  # date and UTC: logs outlive a day
        if fields:
            line += f" {fields}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def setup_logging(settings: Any, stream: Any = None) -> None:
    """Configure the root logger from :class:`dialer.settings.LogSettings`."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(_Formatter(settings.format == "json", settings.mask_numbers))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.level.upper())
    # Libraries that narrate routine work at INFO (migrations applied, every job run).
    quiet = max(root.level, logging.WARNING)
    for name in ("alembic", "apscheduler"):
        logging.getLogger(name).setLevel(quiet)
