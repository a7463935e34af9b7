"""Structured logs: JSON lines, extra fields, phone numbers masked."""

from __future__ import annotations

import io
import json
import logging

from dialer.logs import mask_number, setup_logging
from dialer.settings import LogSettings


def test_json_logs_mask_numbers() -> None:
    out = io.StringIO()
    setup_logging(LogSettings(format="json", mask_numbers=True), stream=out)
    logging.getLogger("dialer.test").info("dialling +12125550143", extra={"lead_id": 7, "phone": "+12125550143"})
    record = json.loads(out.getvalue())
    assert record["msg"] == "dialling +1212555**43"
    assert record["phone"] == "+1212555**43"
    assert record["lead_id"] == 7 and record["level"] == "info"


def test_text_logs_unmasked_on_request() -> None:
    out = io.StringIO()
    setup_logging(LogSettings(format="text", mask_numbers=False), stream=out)
    logging.getLogger("dialer.test").warning("call to +4420794609", extra={"call": "c-1"})
    assert "+4420794609" in out.getvalue() and "call=c-1" in out.getvalue()


def test_mask_number_keeps_short_values() -> None:
    assert mask_number("+123") == "+123"
    assert mask_number("+36305551234") == "+3630555**34"
