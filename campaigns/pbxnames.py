"""What Asterisk accepts in the fields the dialer hands to AMI: queue names, trunk dial
strings, caller ids, agent interfaces and pause codes.

AMI actions carry these values as header lines, and Asterisk splits some of them again: an
Originate's ``Variable`` and application data on ``,`` (``|`` in old releases), dial strings on
``&``, config sections on ``]``, and ``;`` starts a comment in the files that define queues.
A queue named ``crash,DIALER_AGENT=PJSIP/evil`` would have set a channel variable. So every
field is checked here once, against a whitelist where Asterisk has one (names) and against
the splitting characters elsewhere (caller id). Each check returns ``None`` or a sentence that
says what is wrong; the callers prefix the field's name.
"""

from __future__ import annotations

import re

#: Characters that split an AMI header or an Asterisk argument list, never allowed anywhere.
SPLITTERS = frozenset(",|;&\r\n")

#: A queue name (a section of queues.conf): a letter or digit, then letters, digits, ``_.-``.
QUEUE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}")
#: A channel (interface or dial string): ``Tech/resource``; the resource may hold ``@`` (context
#: or host), ``/`` (options of Local), ``:`` (port), ``+`` ``#`` ``*`` (digits).
CHANNEL = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,19}/[A-Za-z0-9_.@/:+#*=~{}-]{1,200}")
#: A pause code: a short token (``agents.pause_code`` holds 32 characters).
PAUSE_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
MAX_CALLER_ID = 80


def _splitting(value: str) -> str | None:
    """A sentence naming the first character of ``value`` that would split an argument."""
    for ch in value:
        if ch in SPLITTERS or ord(ch) < 32 or ord(ch) == 127:
            return f"must not contain {ch!r} (Asterisk would split the value there)"
    return None


def queue_problem(value: str) -> str | None:
    """An Asterisk queue name: ``retention``, ``survey-fr``, ``q_2``."""
    if QUEUE_NAME.fullmatch(value):
        return None
    return _splitting(value) or (
        f"{value!r} is not a queue name (letters, digits, '_', '.', '-'; at most 80 characters)")


def trunk_problem(value: str) -> str | None:
    """A dial string template: ``PJSIP/{number}@carrier``, ``Local/{number}@outbound/n``."""
    if CHANNEL.fullmatch(value):
        return None
    return _splitting(value) or (
        f"{value!r} is not a dial string (Tech/resource, e.g. 'PJSIP/{{number}}@carrier', no spaces)")


def interface_problem(value: str) -> str | None:
    """An agent's device as a queue member: ``PJSIP/agent1``, ``Local/100@agents/n``."""
    if "{" not in value and CHANNEL.fullmatch(value):
        return None
    return _splitting(value) or (
        f"{value!r} is not an interface (Tech/resource, e.g. 'PJSIP/agent1', no spaces)")


def caller_id_problem(value: str) -> str | None:
    """A caller id: ``+15550100``, ``"Acme" <+15550100>``, ``Acme <5550100>``."""
    if problem := _splitting(value):
        return problem
    if len(value) > MAX_CALLER_ID:
        return f"must be at most {MAX_CALLER_ID} characters (got {len(value)})"
    if not value.strip():
        return "must not be empty (leave it out to use the trunk's)"
    if value.count("<") > 1 or value.count(">") > 1 or value.count('"') not in (0, 2):
        return f"{value!r} is not a caller id (e.g. '\"Acme\" <+15550100>' or '+15550100')"
    return None


def pause_code_problem(value: str) -> str | None:
    """A pause code: ``BREAK``, ``LUNCH``; a campaign's own list may hold ``Lunch break`` (the
    API checks a code against it, or against :data:`PAUSE_CODE` for a campaign without one)."""
    if not value.strip():
        return "must not be empty"
    if len(value) > 32:
        return f"must be at most 32 characters (got {len(value)})"
    return _splitting(value)


def member_name_problem(value: str) -> str | None:
    """An agent's name (the queue member's ``MemberName``): any text on one line, no splitters."""
    if not value.strip():
        return "must not be empty"
    if len(value) > 64:
        return f"must be at most 64 characters (got {len(value)})"
    return _splitting(value)
