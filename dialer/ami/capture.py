"""Reader for recorded AMI traffic (``tests/fixtures/ami/*.ami``).

Each file starts with ``# banner: ...``; ``#< +T`` then ``#< Key: Value`` lines is an action the
client sent T seconds into the scenario; ``#> +T`` then a raw frame ended by a blank line is
what the PBX sent.  Used by tests, the simulator's faithfulness check and benchmarks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dialer.ami.codec import Frame


@dataclass(frozen=True)
class Recorded:
    direction: str  # "sent" (client → PBX) or "received" (PBX → client)
    at: float  # seconds since the scenario started
    frame: Frame


@dataclass(frozen=True)
class Capture:
    name: str
    banner: str
    items: list[Recorded]

    @property
    def sent(self) -> list[Frame]:
        return [r.frame for r in self.items if r.direction == "sent"]

    @property
    def received(self) -> list[Frame]:
        return [r.frame for r in self.items if r.direction == "received"]

    def wire_bytes(self) -> bytes:
        """What the PBX sent, as on the wire: the banner line, then every frame, ``\\r\\n`` endings."""
        from dialer.ami.codec import encode_frame

        return (self.banner + "\r\n").encode() + b"".join(encode_frame(f.items_all()) for f in self.received)


def read_capture(path: str | Path) -> Capture:
    path = Path(path)
    banner = ""
    items: list[Recorded] = []
    lines = path.read_text(encoding="utf-8").split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("# banner:"):
            banner = line.partition(":")[2].strip()
            i += 1
        elif line.startswith("#< +"):
            at = float(line[4:])
            frame = Frame()
            i += 1
            while i < len(lines) and lines[i].startswith("#< ") and not lines[i].startswith("#< +"):
                key, _, value = lines[i][3:].partition(":")
                frame.add(key, value[1:] if value.startswith(" ") else value)
                i += 1
            items.append(Recorded("sent", at, frame))
        elif line.startswith("#> +"):
            at = float(line[4:])
            frame = Frame()
            i += 1
            while i < len(lines) and lines[i] != "":
                key, _, value = lines[i].partition(":")
                frame.add(key, value[1:] if value.startswith(" ") else value)
                i += 1
            items.append(Recorded("received", at, frame))
        else:
            i += 1
    return Capture(path.stem, banner, items)


def raw_received_bytes(path: str | Path) -> tuple[bytes, int]:
    """The PBX side of a capture exactly as recorded, converted to the wire's ``\\r\\n``.

    Returns the bytes and the number of frames in them, independently of :func:`read_capture`,
    so that the codec can be checked against the recording itself.
    """
    text = Path(path).read_text(encoding="utf-8")
    banner = text.split("\n", 1)[0].partition(":")[2].strip()
    chunks = [banner + "\r\n"]
    count = 0
    for block in text.split("\n#> +")[1:]:
        body = block.split("\n", 1)[1]
        frame_text = body.split("\n\n", 1)[0].rstrip("\n")
        chunks.append(frame_text.replace("\n", "\r\n") + "\r\n\r\n")
        count += 1
    return "".join(chunks).encode(), count
