"""How a dial attempt's id becomes the ids the PBX reports back (pure, shared by client and tracker).

The dialer sets ``ChannelId`` (the ``Uniqueid`` of the dialled channel, or of the ``;1`` half of
a Local channel), ``OtherChannelId`` (the ``;2`` half) and ``ActionID`` on every Originate, so
that every later event can be tied to the attempt by ``Uniqueid``/``Linkedid`` — never by
channel name.  The attempt id must be unique across the PBX's lifetime (Asterisk refuses a
``ChannelId`` that is in use, and CDRs keep it): use e.g. ``"dlr-<row id>-<random>"``.
"""

from __future__ import annotations

from typing import NamedTuple


class OriginateIds(NamedTuple):
    channel_id: str
    other_channel_id: str
    action_id: str


def originate_ids(attempt_id: str) -> OriginateIds:
    """``originate_ids("call-101")`` → ``("call-101", "call-101-peer", "o-call-101")``."""
    if not attempt_id or any(c in attempt_id for c in "\r\n ;,|"):
        raise ValueError(f"unusable attempt id {attempt_id!r}")
    return OriginateIds(attempt_id, f"{attempt_id}-peer", f"o-{attempt_id}")
