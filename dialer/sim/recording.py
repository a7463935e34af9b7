"""What the simulator records for ``MixMonitor``: a short silent WAV file where the dialplan
would write the call's recording (``${DIALER_RECORDING}.wav``)."""

from __future__ import annotations

import logging
import struct
from pathlib import Path

log = logging.getLogger("dialer.sim")

RATE = 8000  # 8 kHz, 16-bit mono: what MixMonitor writes for a narrowband call (``wav``)


def wav_bytes(seconds: float = 0.1) -> bytes:
    """A silent 8 kHz 16-bit mono WAV file of ``seconds``."""
    data = b"\0\0" * int(RATE * seconds)
    header = struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + len(data), b"WAVE", b"fmt ", 16, 1, 1, RATE,
                         RATE * 2, 2, 16, b"data", len(data))
    return header + data


def write_recording(base: str) -> str | None:
    """Write ``<base>.wav`` (directories created); returns its path, None when it cannot."""
    if not base.startswith("/"):
        log.warning("recording path is not absolute: not recorded", extra={"path": base})
        return None
    path = Path(base + ".wav")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(wav_bytes())
    except OSError as exc:
        log.warning("cannot write the recording", extra={"path": str(path), "error": exc.strerror})
        return None
    return str(path)
