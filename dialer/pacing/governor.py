"""The pacing governor: what stands between a policy's wish and the calls placed.

A policy (:mod:`dialer.pacing.policies`) answers "how many calls would be good now"; the
governor holds the limits that apply whatever the policy says, and it is the one place both
the daemon and the pacing simulator ask, so what is benchmarked is what ships:

- never more than the free lines (``max_lines`` of the campaign or trunk);
- predictive: never more lines than ``max_lines_per_agent`` per working agent (ready,
  reserved, talking or in wrap-up);
- ratio: the abandon limit holds in every mode; a fixed ratio that has abandoned calls falls
  back to progressive until one more abandon would stay under the target (predictive plans
  within the budget itself; progressive cannot abandon by design);
- the **abandon ledger**: live answers (abandoned or connected) over the rolling last hour,
  24 hours and 30 days, which the snapshot carries to the policy.

Which mode's limits apply to a policy is :data:`GOVERNOR_MODES` (by the policy's name): a
campaign's dial mode for its own policy, and for ``vicidial`` (the benchmark's model of
another product, not a dial mode a campaign can choose) the limit every mode has, the free
lines, because it carries its own drop limit ("hard limit" to dial level 1.0) and the
benchmark must measure that dialer, not a hybrid of it with ours.

Pure: times are float seconds of the caller's clock; nothing here reads a clock or does I/O.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from dialer.pacing.policies import Policy, Progressive, make_policy
from dialer.pacing.shared import LedgerHealth, PeerCounts
from dialer.pacing.shared import Windows as LedgerCounts
from dialer.pacing.snapshot import AbandonCounts, AgentState, CallState, Snapshot

HOUR = 3600.0
DAY = 86400.0
MONTH = 30 * DAY

#: A campaign's default for the predictive per-agent line cap (``dial.max_lines_per_agent``).
MAX_LINES_PER_AGENT = 3.0

#: The governor mode whose limits apply to each policy, by policy name (see the module doc).
GOVERNOR_MODES: dict[str, str] = {
    "progressive": "progressive",
    "ratio": "ratio",
    "predictive": "predictive",
    "vicidial": "progressive",
}


def mode_for(policy_name: str) -> str:
    """The governor mode for a policy name (:data:`GOVERNOR_MODES`); ValueError if unknown."""
    try:
        return GOVERNOR_MODES[policy_name]
    except KeyError:
        raise ValueError(
            f"no governor mode for policy {policy_name!r}; expected one of {', '.join(GOVERNOR_MODES)}"
        ) from None

#: Agents whose lines count towards the predictive per-agent line cap.
WORKING = (AgentState.READY, AgentState.RESERVED, AgentState.TALKING, AgentState.WRAPUP)

_PROGRESSIVE = Progressive()


class _Window:
    """Live answers within the last ``span`` seconds, counted as they come and go."""

    __slots__ = ("abandoned", "connected", "entries", "span")

    def __init__(self, span: float) -> None:
        self.span = span
        self.entries: deque[tuple[float, bool]] = deque()
        self.abandoned = 0
        self.connected = 0

    def add(self, at: float, abandoned: bool) -> None:
        self.entries.append((at, abandoned))
        if abandoned:
            self.abandoned += 1
        else:
            self.connected += 1

    def retract(self, at: float) -> None:
        """Take back the newest connected answer recorded at or before ``at``, if still here."""
        entries = self.entries
        for i in range(len(entries) - 1, -1, -1):
            t, abandoned = entries[i]
            if not abandoned and t <= at:
                del entries[i]
                self.connected -= 1
                return

    def advance(self, now: float) -> None:
        entries = self.entries
        while entries and entries[0][0] < now - self.span:
            _, abandoned = entries.popleft()
            if abandoned:
                self.abandoned -= 1
            else:
                self.connected -= 1

    def counts(self) -> AbandonCounts:
        return AbandonCounts(abandoned=self.abandoned, connected=self.connected)


@dataclass
class AbandonLedger:
    """Live-answered calls of one campaign over the rolling hour, day and 30 days.

    ``record`` expects answers in time order (late ones are accepted and counted; they
    leave their window a little late).  The abandon rate is abandoned / (abandoned +
    connected to an agent); machines, no-answers and failures are never in it.
    """

    _hour: _Window = field(default_factory=lambda: _Window(HOUR))
    _day: _Window = field(default_factory=lambda: _Window(DAY))
    _month: _Window = field(default_factory=lambda: _Window(MONTH))

    def record(self, at: float, abandoned: bool) -> None:
        for window in (self._hour, self._day, self._month):
            window.add(at, abandoned)

    def retract(self, at: float) -> None:
        """A connected answer (recorded at or before ``at``) was an answering machine, as its
        agent found: it leaves every window that still holds it."""
        for window in (self._hour, self._day, self._month):
            window.retract(at)

    def extend(self, answers: Iterable[tuple[float, bool]]) -> None:
        """Answers read back from storage after a restart, oldest first."""
        for at, abandoned in answers:
            self.record(at, abandoned)

    def advance(self, now: float) -> None:
        for window in (self._hour, self._day, self._month):
            window.advance(now)

    def hour(self, now: float) -> AbandonCounts:
        self._hour.advance(now)
        return self._hour.counts()

    def day(self, now: float) -> AbandonCounts:
        self._day.advance(now)
        return self._day.counts()

    def month(self, now: float) -> AbandonCounts:
        self._month.advance(now)
        return self._month.counts()

    def counts(self, now: float) -> LedgerCounts:
        """All three windows at ``now`` in one call (what a snapshot needs)."""
        self.advance(now)
        return LedgerCounts(self._hour.counts(), self._day.counts(), self._month.counts())


def abandon_budget(counts: AbandonCounts, target: float) -> int:
    """How many more abandoned calls the window can take before its rate passes ``target``
    (with no more connected calls): the largest ``k`` with ``(a + k) / (n + k) <= target``."""
    if target >= 1.0:
        return 1 << 30
    k = (target * counts.answered - counts.abandoned) / (1.0 - target)
    return max(0, int(k + 1e-9))


@dataclass(frozen=True, slots=True)
class Decision:
    """The governor's last decision and why (for the wallboard): what the policy wished, the
    limits that applied, and what was placed."""

    at: float
    policy_wants: int
    free_lines: int
    line_cap: int | None  # predictive: lines the per-agent cap still allows
    wants: int
    limited_by: str  # "policy", "lines", "agent line cap", "abandon limit"
    ready: int
    working: int
    ringing: int
    waiting: int

    def as_dict(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in self.__slots__}


def abandon_limit_reached(snap: Snapshot) -> bool:
    """True when one more abandoned call would put the rolling 24 h (or 30-day) abandon rate
    over target."""
    return any(w.abandoned > 0 and (w.abandoned + 1) / (w.answered + 1) > snap.target
               for w in (snap.day, snap.month))


@dataclass
class PacingGovernor:
    """One campaign's pacing: its policy, its limits and its abandon ledger.

    ``mode`` is the campaign's dial mode (``progressive``, ``ratio`` or ``predictive``);
    ``policy`` defaults to the one the mode names.
    """

    mode: str
    policy: Policy
    max_lines_per_agent: float = MAX_LINES_PER_AGENT
    ledger: AbandonLedger = field(default_factory=AbandonLedger)
    last: Decision | None = field(default=None, compare=False)
    #: The other nodes' answers of the campaign (:mod:`dialer.pacing.shared`); none by default.
    peers: PeerCounts = field(default_factory=PeerCounts)

    @classmethod
    def for_mode(cls, mode: str, *, ratio: float = 1.0,
                 max_lines_per_agent: float = MAX_LINES_PER_AGENT,
                 ledger: AbandonLedger | None = None, warmup: float | None = None,
                 hour_cap: float | None = None) -> PacingGovernor:
        """The governor of a campaign's dial mode; ``warmup`` and ``hour_cap`` are the predictive
        policy's cold-start warm-up and last-hour cap (``None``: the policy's defaults; ignored by
        the other modes)."""
        if mode == "ratio":
            policy = make_policy("ratio", ratio=ratio)
        elif mode == "predictive":
            options = {k: v for k, v in (("warmup", warmup), ("hour_cap", hour_cap)) if v is not None}
            policy = make_policy("predictive", **options)
        else:
            policy = make_policy("progressive")
        return cls(mode, policy, max_lines_per_agent, AbandonLedger() if ledger is None else ledger)

    @classmethod
    def for_policy(cls, policy: Policy, *, mode: str | None = None,
                   max_lines_per_agent: float = MAX_LINES_PER_AGENT,
                   ledger: AbandonLedger | None = None) -> PacingGovernor:
        """Govern an existing policy; ``mode`` defaults to :func:`mode_for` its name."""
        return cls(mode_for(policy.name) if mode is None else mode, policy, max_lines_per_agent,
                   AbandonLedger() if ledger is None else ledger)

    def counts(self, now: float) -> LedgerCounts:
        """The campaign's rolling counts: this node's ledger plus the peers' as last read."""
        return self.ledger.counts(now) + self.peers.counts

    def health(self, now: float) -> LedgerHealth:
        return self.peers.health(now)

    def decide(self, snap: Snapshot) -> int:
        """Calls to place now: the policy's wish within the lines and the abandon limit; the
        decision and what limited it are kept in :attr:`last` (the wallboard shows it).

        A node that cannot read its campaign's ledger dials no more than progressive, and
        nothing once the reads have failed long enough (:class:`~dialer.pacing.shared.PeerCounts`).
        """
        health = self.peers.health(snap.now)
        wish = self.policy.decide(snap)
        want = min(wish, snap.free_lines)
        limited = "policy" if want == wish else "lines"
        cap: int | None = None
        if self.mode == "predictive":
            cap = int(self.max_lines_per_agent * snap.count_agents(*WORKING)) - snap.lines_busy
            if cap < want:
                want, limited = cap, "agent line cap"
        unread = health is LedgerHealth.PROGRESSIVE
        if unread or (self.mode != "progressive" and abandon_limit_reached(snap)):
            fallback = _PROGRESSIVE.decide(snap)
            if fallback < want:
                want, limited = fallback, "campaign ledger unreadable" if unread else "abandon limit"
        if health is LedgerHealth.STOPPED:
            want, limited = 0, "campaign ledger unreadable: stopped"
        want = max(0, want)
        ringing = sum(1 for c in snap.calls if c.state is CallState.RINGING)
        self.last = Decision(snap.now, wish, snap.free_lines, cap, want, limited, snap.ready,
                             snap.count_agents(*WORKING), ringing, len(snap.calls) - ringing)
        return want

    def record_answer(self, at: float, abandoned: bool) -> None:
        """A live answer ended its wait: connected to an agent, or abandoned."""
        self.ledger.record(at, abandoned)

    def retract_answer(self, at: float) -> None:
        """The connected answer recorded at (or before) ``at`` was a machine (its agent's word)."""
        self.ledger.retract(at)
