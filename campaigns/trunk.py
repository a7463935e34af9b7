"""A campaign's trunk template: the Originate's dial string with the lead's number in the
form the carrier or the dialplan expects.

Placeholders (leads are stored in E.164, ``+12125550101``):

- ``{e164}`` — E.164 with the plus: ``+12125550101`` (``{number}`` is the same, kept for
  campaign files written before the others existed);
- ``{digits}`` — E.164 without the plus: ``12125550101``;
- ``{national}`` — the number as dialled inside its own country, digits only, with the national
  prefix where the country has one: ``2125550101`` (US), ``02071234567`` (UK), ``0123456789``
  (France).

``PJSIP/{digits}@carrier``, ``Local/{national}@outbound/n``.  :func:`template_problem` checks a
template once, when the campaign is loaded; :func:`dial_string` fills it in for each call.
"""

from __future__ import annotations

import string

import phonenumbers

#: The placeholders a trunk template may use (``number`` is an alias of ``e164``).
PLACEHOLDERS = ("e164", "digits", "national", "number")
EXAMPLE = "'PJSIP/{e164}@carrier'"


def template_problem(trunk: str) -> str | None:
    """``None`` when ``trunk`` is a usable template, else a sentence saying what is wrong:
    braces that do not pair, a placeholder not in :data:`PLACEHOLDERS`, a format spec or
    conversion (``{e164:>12}``, ``{e164!r}``), or no number placeholder at all."""
    try:
        fields = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(trunk)
                  if name is not None]
    except ValueError as exc:
        return f"invalid template: {exc} (got {trunk!r})"
    allowed = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
    unknown = sorted({name for name, _, _ in fields if name not in PLACEHOLDERS})
    if unknown:
        shown = ", ".join("{" + name + "}" if name else "{}" for name in unknown)
        return f"unknown placeholder {shown}; use one of {allowed} (got {trunk!r})"
    if any(spec or conv for _, spec, conv in fields):
        return f"placeholders take no format spec or conversion, e.g. {{e164}} (got {trunk!r})"
    if not fields:
        return f"must contain the number as one of {allowed}, e.g. {EXAMPLE} (got {trunk!r})"
    return None


def national(e164: str) -> str:
    """The number as dialled inside its country, digits only (``+442071234567`` →
    ``02071234567``); the digits of ``e164`` when it is not a number phonenumbers can parse."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return "".join(ch for ch in e164 if ch.isdigit())
    text = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    return "".join(ch for ch in text if ch.isdigit())


def forms(e164: str) -> dict[str, str]:
    """Every placeholder's value for ``e164``."""
    return {"e164": e164, "number": e164, "digits": e164.lstrip("+"), "national": national(e164)}


def dial_string(trunk: str, e164: str) -> str:
    """The Originate channel: ``trunk`` with the placeholders filled in for ``e164``."""
    return trunk.format(**forms(e164))
