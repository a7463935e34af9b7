"""What the HTTP API accepts: the request body and every field, checked before anything runs.

Pure functions of the raw values (bytes, strings, parsed JSON) that return the value to use or
raise: :class:`starlette.exceptions.HTTPException` for a body that is not acceptable at all
(413 too large, 400 not a JSON object or nested too deep), the typed errors of
:mod:`dialer.errors` for fields (422 :class:`Invalid`, 404 :class:`NotFound` for a call id
that cannot exist).  Bounds follow the columns the values are stored in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any

from starlette.exceptions import HTTPException

from dialer.errors import Invalid, NotFound
from dialer.vocabulary import RESERVED_PAUSE_CODES

#: Largest call id: ``calls.id`` is a signed 64-bit integer.
MAX_CALL_ID = 2**63 - 1
#: Agent names (``agents.name`` is 64 characters), campaign and list names (100).
MAX_NAME = 100
#: Disposition, refusal-reason and pause codes (``agents.pause_code`` is 32 characters).
MAX_CODE = 32
MAX_NOTE = 4000
MAX_ORDER_FIELDS = 100
MAX_ORDER_VALUE = 1000
#: A pause code when the campaign has no list of its own: a short token, nothing AMI could split on.
PAUSE_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
_CALL_ID = re.compile(r"[0-9]{1,19}")
_MAX_TIME_TEXT = 64  # longer than any ISO 8601 date and time


def content_length_over(header: str | None, max_bytes: int) -> bool:
    """True when a ``Content-Length`` header announces more than ``max_bytes``."""
    if header is None:
        return False
    header = header.strip()
    return not header.isdigit() or len(header) > 19 or int(header) > max_bytes


def too_large(max_bytes: int) -> HTTPException:
    return HTTPException(413, f"request body larger than {max_bytes} bytes")


def nested_deeper(raw: bytes, limit: int) -> bool:
    """True when arrays and objects in the JSON text ``raw`` nest more than ``limit`` levels.

    Scans the text (brackets inside strings do not count), so a hostile body is refused before
    the parser recurses into it.
    """
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return False


def json_object(raw: bytes, *, max_depth: int) -> dict[str, Any]:
    """The request body as a JSON object (``{}`` when empty)."""
    if not raw.strip():
        return {}
    if nested_deeper(raw, max_depth):
        raise HTTPException(400, f"request body nested deeper than {max_depth} levels")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise HTTPException(400, "request body is not JSON") from None
    if not isinstance(data, dict):
        raise HTTPException(400, "request body must be a JSON object")
    return data


def text(data: Mapping[str, Any], key: str, *, max_len: int, required: str = "") -> str | None:
    """The string field ``key`` (``None`` when missing, null or empty); ``required`` is the
    message's hint when it must be given."""
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise Invalid(f"{key}: required{required}")
        return None
    if not isinstance(value, str):
        raise Invalid(f"{key}: must be a string")
    if len(value) > max_len:
        raise Invalid(f"{key}: at most {max_len} characters")
    return value


def pause_code(value: str, allowed: Collection[str] | None = None) -> str:
    """An agent's pause code: one of the campaign's codes when it lists them, else a short token;
    never a code only the daemon sets (``wrapup``, ``callback``)."""
    if value.lower() in RESERVED_PAUSE_CODES:
        raise Invalid(f"code: {value!r} is reserved for the daemon")
    if allowed:
        if value not in allowed:
            raise Invalid(f"code: {value!r} is not one of the campaign's pause codes ({', '.join(allowed)})")
        return value
    if not PAUSE_CODE.fullmatch(value):
        raise Invalid("code: 1 to 32 letters, digits, '_', '-' or '.', starting with a letter or digit")
    return value


def call_id(raw: str) -> int:
    """The call id in a path; one that cannot exist is 404 like an unknown one."""
    if not _CALL_ID.fullmatch(raw) or not 0 < int(raw) <= MAX_CALL_ID:
        raise NotFound(f"unknown call {raw[:24]!r}")
    return int(raw)


def when(value: object, key: str, *, naive_is_utc: bool = False) -> datetime:
    """An ISO 8601 date and time, as aware UTC; without an offset it is refused (or UTC)."""
    if not isinstance(value, str) or len(value) > _MAX_TIME_TEXT:
        raise Invalid(f"{key}: not an ISO 8601 date and time")
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{key}: not an ISO 8601 date and time") from None
    if at.tzinfo is None:
        if not naive_is_utc:
            raise Invalid(f"{key}: give a time zone offset, e.g. 2026-11-23T15:00:00+01:00")
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC)


def order_form(value: object) -> dict[str, Any] | None:
    """Order-form fields: an object of at most 100 named scalar values."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Invalid("order: must be an object of order-form fields")
    if len(value) > MAX_ORDER_FIELDS:
        raise Invalid(f"order: at most {MAX_ORDER_FIELDS} fields")
    for name, field in value.items():
        if len(name) > MAX_NAME:
            raise Invalid(f"order: field names of at most {MAX_NAME} characters")
        if isinstance(field, dict | list):
            raise Invalid(f"order: {name}: must be a single value")
        if isinstance(field, str) and len(field) > MAX_ORDER_VALUE:
            raise Invalid(f"order: {name}: at most {MAX_ORDER_VALUE} characters")
    return value


def whole_number(raw: str, key: str, low: int, high: int) -> int:
    """A query parameter that must be a whole number from ``low`` to ``high``."""
    if not re.fullmatch(r"[+-]?[0-9]{1,9}", raw.strip()):
        raise Invalid(f"{key}: not a whole number")
    number = int(raw)
    if not low <= number <= high:
        raise Invalid(f"{key}: between {low} and {high}")
    return number
