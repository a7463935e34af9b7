"""AMI codec throughput on one core: frames/s of ``FrameParser`` vs. merely splitting the same
bytes on ``\\r\\n\\r\\n``, plus typed events/s (``parse_event``) and panoramisk's own parser.

    .venv/bin/python benchmarks/ami_codec.py [--repeat 20] [--chunk 65536]

Input: every frame of every recorded capture (both runs), as on the wire, repeated.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable
from pathlib import Path

from dialer.ami.capture import raw_received_bytes
from dialer.ami.codec import FrameParser
from dialer.ami.events import parse_event

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "ami"


def stream(repeat: int) -> tuple[bytes, int]:
    body, frames = b"", 0
    for path in sorted(FIXTURES.glob("*.ami")) + sorted((FIXTURES / "second-run").glob("*.ami")):
        data, count = raw_received_bytes(path)
        body += data.split(b"\r\n", 1)[1]  # without the banner line
        frames += count
    return b"Asterisk Call Manager/13.0.0\r\n" + body * repeat, frames * repeat


def best(fn: Callable[[], int], rounds: int = 3) -> tuple[float, int]:
    times, n = [], 0
    for _ in range(rounds):
        t0 = time.perf_counter()
        n = fn()
        times.append(time.perf_counter() - t0)
    return min(times), n


def chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--chunk", type=int, default=65536)
    args = ap.parse_args()
    data, frames = stream(args.repeat)
    parts = chunks(data, args.chunk)

    def split_only() -> int:
        buf, n = b"", 0
        for part in parts:
            buf += part
            pieces = buf.split(b"\r\n\r\n")
            buf = pieces.pop()
            n += len(pieces)
        return n

    def codec() -> int:
        parser, n = FrameParser(), 0
        for part in parts:
            n += len(parser.feed(part))
        return n - 1  # the banner

    def codec_typed() -> int:
        parser, n = FrameParser(), 0
        for part in parts:
            for frame in parser.feed(part)[1 if n == 0 else 0 :]:
                parse_event(frame)  # type: ignore[arg-type]
                n += 1
        return n

    def panoramisk_parser() -> int:
        from panoramisk.ami_protocol import AMIProtocol

        count = [0]

        class Factory:
            save_stream = None

            def dispatch(self, message: object) -> None:
                count[0] += 1

        proto = AMIProtocol()
        proto.connection_made(None)  # type: ignore[arg-type]
        proto.factory = Factory()  # type: ignore[assignment]
        proto.log = logging.getLogger("bench")
        proto.log.disabled = True
        proto.encoding = "utf-8"
        for part in parts:
            proto.data_received(part)
        return count[0]

    print(f"input: {len(data) / 1e6:.1f} MB, {frames} frames, chunks of {args.chunk} bytes")
    base_t, base_n = best(split_only)
    rows = [("split on \\r\\n\\r\\n (baseline)", base_t, base_n)]
    for name, fn in [
        ("FrameParser", codec),
        ("FrameParser + parse_event", codec_typed),
        ("panoramisk AMIProtocol (events only)", panoramisk_parser),
    ]:
        t, n = best(fn)
        rows.append((name, t, n))
    for name, t, n in rows:
        print(f"{name:40s} {n / t:12,.0f} frames/s   {t:7.3f} s   x{t / base_t:5.1f} baseline")
    assert rows[1][2] == frames, (rows[1][2], frames)


if __name__ == "__main__":
    main()
