"""What a PBX's answers say about its set-up: pure functions of frames, shared by
``dialer pbx check`` (dialer/cli/pbx.py) and the daemon's check of the safe-harbour sound at
each AMI login (dialer/pbx.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dialer.ami.codec import Frame

SOUND_CHECK = "safe-harbour sound"
#: How to make the sound (README, "Installing on an Asterisk server", step 4).
SOUND_RECIPE = ("record or synthesise it (README, 'The safe-harbour message': espeak-ng + sox "
                "from config/asterisk/safe-harbour.txt), then 'module reload sounds'")


@dataclass(frozen=True)
class Check:
    """One line of the report: ``ok`` True (fine), False (to fix) or None (not checked)."""

    name: str
    ok: bool | None
    detail: str

    def line(self) -> str:
        mark = {True: "ok  ", False: "FAIL", None: "skip"}[self.ok]
        return f"{mark} {self.name}: {self.detail}"


def dialplan_sound(items: list[Mapping[str, str]], context: str) -> str | None:
    """The sound ``context`` plays when no agent took the call (``ShowDialPlan`` items):
    ``Playback(<sound>)`` or, with the opt-out keypress, ``Read(<variable>,<sound>,...)``."""
    for item in items:
        app = item.get("Application", "").lower()
        if item.get("Context") == context and app in ("playback", "read"):
            return (item.get("AppData", "") + ",").split(",")[1 if app == "read" else 0]
    return None


def check_sound(response: Mapping[str, str], sound: str | None) -> Check:
    """The answer to ``Command: core show sound <sound>``; ``sound`` None: the context plays none."""
    if sound is None:
        return Check(SOUND_CHECK, False, "the dialer's context plays no message when no agent is free (Playback)")
    if response.get("Response") != "Success":
        return Check(SOUND_CHECK, None, f"not checked (the AMI user may not send Command); check by hand: "
                     f"asterisk -rx 'core show sound {sound}'")
    output = response.getlist("Output") if isinstance(response, Frame) else [response.get("Output", "")]
    formats = [line.split(":", 1)[1].strip() for line in output if line.strip().startswith("Format:")]
    if not formats:
        return Check(SOUND_CHECK, False, f"{sound} not found in Asterisk's sounds: {SOUND_RECIPE}")
    return Check(SOUND_CHECK, True, f"{sound} ({', '.join(formats)})")
