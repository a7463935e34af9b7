"""Validation of an agent's disposition against the campaign definition.

:func:`validate_disposition` returns a list of human-readable problems (empty
when the disposition is acceptable); the HTTP API turns them into a 4xx, the
CLI into a one-line error. :func:`coerce_order_fields` gives the typed values
to store once validation passed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from campaigns.definition import CampaignDefinition, OrderField

_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def _coerce(spec: OrderField, value: Any) -> Any:
    """The typed value of one order-form field; ``ValueError`` with a message when invalid."""
    if spec.type == "text":
        if not isinstance(value, str):
            raise ValueError("expected text")
        return value
    if spec.type == "choice":
        if value not in spec.choices:
            raise ValueError(f"must be one of {', '.join(spec.choices)} (got {value!r})")
        return value
    if spec.type == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE | _FALSE:
            return text in _TRUE
        raise ValueError(f"expected yes or no (got {value!r})")
    if spec.type == "int":
        if isinstance(value, bool):
            raise ValueError(f"expected a whole number (got {value!r})")
        if isinstance(value, int):
            return value
        try:
            return int(str(value).strip())
        except ValueError:
            raise ValueError(f"expected a whole number (got {value!r})") from None
    if spec.type == "number":
        if isinstance(value, bool):
            raise ValueError(f"expected a number (got {value!r})")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"expected a number (got {value!r})") from None
    if spec.type == "date":
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        try:
            return date.fromisoformat(str(value).strip())
        except ValueError:
            raise ValueError(f"expected a date like 2026-05-31 (got {value!r})") from None
    raise ValueError(f"unsupported field type {spec.type!r}")  # pragma: no cover


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def validate_order_fields(
    definition: CampaignDefinition, fields: Mapping[str, Any] | None
) -> list[str]:
    """Problems with the order-form values of a success disposition."""
    fields = fields or {}
    specs = {f.name: f for f in definition.order_form}
    errors: list[str] = []
    for name in fields:
        if name not in specs:
            known = ", ".join(specs) or "none"
            errors.append(f"unknown order-form field {name!r} (fields: {known})")
    for spec in definition.order_form:
        value = fields.get(spec.name)
        if _is_blank(value):
            if spec.required:
                errors.append(f"order-form field {spec.name!r} ({spec.label}) is required")
            continue
        try:
            _coerce(spec, value)
        except ValueError as exc:
            errors.append(f"order-form field {spec.name!r}: {exc}")
    return errors


def coerce_order_fields(
    definition: CampaignDefinition, fields: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Typed values of valid order-form fields (blank ones left out); call after validation."""
    out: dict[str, Any] = {}
    for spec in definition.order_form:
        value = (fields or {}).get(spec.name)
        if not _is_blank(value):
            out[spec.name] = _coerce(spec, value)
    return out


def validate_disposition(
    definition: CampaignDefinition,
    code: str,
    *,
    reason: str | None = None,
    callback_at: datetime | None = None,
    fields: Mapping[str, Any] | None = None,
    now: datetime,
) -> list[str]:
    """Every problem with a disposition an agent submitted (empty list: accept it).

    Checks: the code exists; a refusal has a known reason and only a refusal
    has one; a callback disposition has a callback time, in the future and not
    beyond ``limits.max_callback_days``, and only a callback disposition has
    one; order-form fields (for a success) are known, present when required
    and of the right type/choice. The callback time is not moved into the
    calling window here: :func:`campaigns.rules.evaluate` does that.
    """
    disposition = definition.disposition(code) if code else None
    if disposition is None:
        known = ", ".join(d.code for d in definition.dispositions)
        return [f"unknown disposition {code!r} (known: {known})"]
    errors: list[str] = []

    if disposition.refusal:
        if _is_blank(reason):
            known = ", ".join(r.code for r in definition.refusal_reasons)
            errors.append(f"{code} is a refusal: a refusal reason is required (one of: {known})")
        elif definition.refusal_reason(str(reason)) is None:
            known = ", ".join(r.code for r in definition.refusal_reasons)
            errors.append(f"unknown refusal reason {reason!r} (known: {known})")
    elif not _is_blank(reason):
        errors.append(f"{code} is not a refusal: a refusal reason does not apply")

    if callback_at is not None and (callback_at.tzinfo is None or callback_at.utcoffset() is None):
        errors.append("callback time must include a time zone")
    elif disposition.callback:
        if callback_at is None:
            errors.append(f"{code} needs a callback time")
        elif callback_at <= now:
            errors.append(f"callback time {callback_at.isoformat()} is in the past")
        elif callback_at > now + timedelta(days=definition.limits.max_callback_days):
            errors.append(
                f"callback time {callback_at.isoformat()} is more than "
                f"{definition.limits.max_callback_days} days ahead"
            )
    elif callback_at is not None:
        errors.append(f"{code} is not a callback disposition: a callback time does not apply")

    if disposition.success:
        errors += validate_order_fields(definition, fields)
    elif fields:
        errors.append(f"{code} is not a success: order-form fields do not apply")
    return errors
