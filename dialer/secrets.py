"""A string wrapper that never shows its value in logs, reprs or JSON output."""

from __future__ import annotations

import re

MASK = "********"


class Secret:
    """Holds a password or AMI secret; ``str()`` and ``repr()`` show a mask, ``reveal()`` the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str | None) -> None:
        self._value = value or ""

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __str__(self) -> str:
        return MASK if self._value else ""

    __repr__ = lambda self: f"Secret({MASK!r})"  # noqa: E731


_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<pw>[^@\s]*)(?P<tail>@)", re.I)


def mask_url(url: str) -> str:
    """``postgresql://u:pw@h/db`` → ``postgresql://u:********@h/db``."""
    return _URL_PASSWORD.sub(lambda m: m["head"] + MASK + m["tail"], url)
