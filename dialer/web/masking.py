"""The customer's number on the agent's screen, masked as the settings say (``[http]
screen_number``): ``full``, ``last4`` (only the last four digits) or ``hidden``."""

from __future__ import annotations

from typing import Any


def mask_phone(number: str | None, mode: str) -> str | None:
    """``+12125550143`` → ``full``: itself; ``last4``: ``+•••••••0143``; ``hidden``: ``•••``."""
    if number is None or mode == "full":
        return number
    if mode == "hidden" or len(number) <= 4:
        return "•••"
    head = "+" if number.startswith("+") else ""
    return head + "•" * (len(number) - len(head) - 4) + number[-4:]


def mask_screen(details: dict[str, Any] | None, mode: str) -> dict[str, Any] | None:
    """The screen pop with the lead's number masked (a copy; ``None`` stays ``None``)."""
    if details is None or mode == "full" or "lead" not in details:
        return details
    lead = dict(details["lead"])
    lead["phone"] = mask_phone(lead.get("phone"), mode)
    return {**details, "lead": lead, "phone_masked": mode}
