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


# The password of ``scheme://user:PASSWORD@host...``: everything to the last ``@`` that is
# followed by a host (a password may hold spaces, ``@``, ``/`` or ``:`` when not percent-encoded).
_URL_PASSWORD = re.compile(
    r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<pw>.*)(?P<tail>@[^@/?#\s]*(?:[/?#]|\s|$))", re.I | re.S)
_KEYS = r"(?:password|passwd|pwd|secret|sslpassword)"
# ``?password=...`` in a URL's query (to the next ``&``), ``password=...`` or ``password='...'``
# in a libpq DSN (to the next space).
_QUERY_PASSWORD = re.compile(rf"(?P<head>[?&]{_KEYS}=)(?P<pw>[^&#]*)", re.I)
_DSN_PASSWORD = re.compile(rf"(?P<head>\b{_KEYS}\s*=\s*)(?P<pw>'(?:[^'\\]|\\.)*'|\S*)", re.I)


def mask_url(url: str) -> str:
    """A database URL or DSN with every password form masked: ``postgresql://u:pw@h/db``,
    ``...?password=pw``, ``host=h password='p w'`` → ``********`` in their place."""
    if "://" in url:
        url = _URL_PASSWORD.sub(lambda m: m["head"] + MASK + m["tail"], url)
        return _QUERY_PASSWORD.sub(lambda m: m["head"] + MASK, url)
    return _DSN_PASSWORD.sub(lambda m: m["head"] + MASK, url)
