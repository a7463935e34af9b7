"""Asterisk extension matching (``exten => _X.,...``), for the simulator's dialplan and for
``dialer pbx check`` (does a pattern of the dialer's context catch ``failed``?).  Pure.

An extension is a literal (``failed``, ``s``) or, with a leading ``_``, a pattern: ``X`` a
digit, ``Z`` 1-9, ``N`` 2-9, ``[a-z0-9]`` a class, ``.`` one or more of anything, ``!`` zero or
more; other characters match themselves, case-insensitively for letters.  A literal always wins
over a pattern when both match.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["matches", "pattern_regex", "resolve"]

_CLASSES = {"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]"}


def pattern_regex(extension: str) -> re.Pattern[str]:
    """The regular expression an extension (literal or ``_`` pattern) stands for."""
    if not extension.startswith("_"):
        return re.compile(re.escape(extension), re.IGNORECASE)
    out, body, i = [], extension[1:], 0
    while i < len(body):
        ch = body[i]
        if ch.upper() in _CLASSES:
            out.append(_CLASSES[ch.upper()])
        elif ch == "[":
            end = body.find("]", i)
            if end < 0:
                raise ValueError(f"unclosed [ in extension pattern {extension!r}")
            out.append("[" + body[i + 1 : end].replace("\\", "\\\\") + "]")
            i = end
        elif ch == ".":
            out.append(".+")
        elif ch == "!":
            out.append(".*")
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out), re.IGNORECASE)


def matches(extension: str, exten: str) -> bool:
    return pattern_regex(extension).fullmatch(exten) is not None


def resolve(extensions: Iterable[str], exten: str) -> str | None:
    """The extension of a context that runs for ``exten``: a literal first, else the first
    pattern that matches (Asterisk orders patterns by specificity; the dialer's contexts
    have one), else ``None``."""
    listed = list(extensions)
    if exten in listed:
        return exten
    return next((e for e in listed if e.startswith("_") and matches(e, exten)), None)
