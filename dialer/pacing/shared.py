"""The campaign-wide view of the abandon ledger, for a daemon that shares its campaign.

Several daemons (one per PBX) dial one campaign, and the law counts abandons per campaign. Each
daemon keeps its own live answers in its governor's :class:`~dialer.pacing.governor.AbandonLedger`
(exact, immediate) and reads the *other* nodes' counts back from the database every few seconds
(:class:`PeerCounts`); the governor paces against the sum.

Fair share: the predictive policy's budget is a per-call risk (a *rate*, from the campaign's
counts), so every node spends the campaign's remaining budget in proportion to its own live
answers — a site with a fifth of the answers gets a fifth of the abandons, and a small site is
never starved by a large one's history. The hard stop ("one more abandon would put the last
24 h over the target") is campaign-wide too. Measured in ``benchmarks/scale_sim.py``.

When the peers cannot be read (the database is away), a node cannot know the campaign's rate:
it dials progressive (no abandons by design) at once and stops dialling after
:data:`STOP_AFTER` seconds of failed reads (:meth:`PeerCounts.health`).

Pure: times are float seconds of the caller's clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from dialer.pacing.snapshot import AbandonCounts

#: Seconds of failed peer reads after which a node stops dialling (progressive until then).
STOP_AFTER = 60.0


class LedgerHealth(StrEnum):
    """What a node knows of its campaign's abandon ledger."""

    SHARED = "shared"  # the peers' counts were read at the last try: pace on the campaign's rate
    PROGRESSIVE = "progressive"  # the last read failed: progressive only
    STOPPED = "stopped"  # reads have failed for STOP_AFTER seconds: no new calls


def add(a: AbandonCounts, b: AbandonCounts) -> AbandonCounts:
    return AbandonCounts(a.abandoned + b.abandoned, a.connected + b.connected)


@dataclass(frozen=True, slots=True)
class Windows:
    """Counts over the rolling hour, 24 hours and 30 days."""

    hour: AbandonCounts = AbandonCounts()
    day: AbandonCounts = AbandonCounts()
    month: AbandonCounts = AbandonCounts()

    def __add__(self, other: Windows) -> Windows:
        return Windows(add(self.hour, other.hour), add(self.day, other.day), add(self.month, other.month))


class PeerCounts:
    """The other nodes' live answers of one campaign, as last read, and whether reads work."""

    __slots__ = ("counts", "failing_since", "read_at", "stop_after")

    def __init__(self, stop_after: float = STOP_AFTER) -> None:
        self.counts = Windows()
        self.read_at: float | None = None
        self.failing_since: float | None = None
        self.stop_after = stop_after

    def read(self, counts: Windows, now: float) -> None:
        """The peers' counts were read at ``now``."""
        self.counts = counts
        self.read_at = now
        self.failing_since = None

    def failed(self, now: float) -> None:
        """A read failed at ``now`` (the counts last read are kept, and no longer trusted)."""
        if self.failing_since is None:
            self.failing_since = now

    def health(self, now: float) -> LedgerHealth:
        if self.failing_since is None:
            return LedgerHealth.SHARED
        if now - self.failing_since < self.stop_after:
            return LedgerHealth.PROGRESSIVE
        return LedgerHealth.STOPPED
