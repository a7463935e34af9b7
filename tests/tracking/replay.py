"""Feed a recorded capture through ``parse_event`` into the trackers, as the daemon would."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dialer.ami.capture import Recorded, read_capture
from dialer.ami.events import is_shutting_down, parse_event
from dialer.tracking.agents import AgentTracker, AgentUpdate
from dialer.tracking.calls import CallTracker, CallUpdate


@dataclass
class Replay:
    calls: CallTracker
    agents: AgentTracker
    attempts: dict[str, str] = field(default_factory=dict)  # ActionID -> attempt id
    call_updates: list[CallUpdate] = field(default_factory=list)
    agent_updates: list[AgentUpdate] = field(default_factory=list)
    end: float = 0.0


def feed(replay: Replay, item: Recorded) -> None:
    f, now = item.frame, item.at
    replay.end = max(replay.end, now)
    if item.direction == "sent":
        if f.get("Action") == "Originate":
            attempt = f.get("ChannelId") or f["ActionID"]
            replay.attempts[f["ActionID"]] = attempt
            variables = dict(v.split("=", 1) for v in f.get("Variable", "").split(",") if "=" in v)
            replay.call_updates += replay.calls.place(
                attempt,
                now,
                channel_id=f.get("ChannelId"),
                other_channel_id=f.get("OtherChannelId"),
                action_id=f["ActionID"],
                use_default_ids=False,
                agent_interface=variables.get("DIALER_AGENT"),
                ring_timeout=int(f["Timeout"]) / 1000 if f.get("Timeout") else None,
            )
        return
    if "Response" in f and "Event" not in f:
        if f["Response"] == "Error" and is_shutting_down(f.get("Message", "")):
            replay.call_updates += replay.calls.pbx_shutting_down(now)  # as the daemon does (PbxStopping)
        attempt = replay.attempts.get(f.get("ActionID", ""))
        if attempt is not None:
            if f["Response"] == "Success":
                replay.call_updates += replay.calls.originate_accepted(attempt, now)
            else:
                replay.call_updates += replay.calls.originate_failed(
                    attempt, now, f.get("Message", "")
                )
        return
    event = parse_event(f)
    replay.call_updates += replay.calls.handle(event, now)
    replay.agent_updates += replay.agents.tick(now)
    replay.agent_updates += replay.agents.handle(event, now)


def replay_capture(
    path: Path, items: list[Recorded] | None = None, *, wrap_up: float = 0.0
) -> Replay:
    replay = Replay(CallTracker(), AgentTracker(wrap_up=wrap_up))
    for item in items if items is not None else read_capture(path).items:
        feed(replay, item)
    return replay
