"""AMI framing without I/O, in the manner of h11: bytes in, frames out; actions to bytes.

The wire format: one banner line (``Asterisk Call Manager/13.0.0``), then frames of
``Key: Value`` lines, each frame ended by an empty line.  Lines end in ``\\r\\n`` (a peer that
sends bare ``\\n`` is accepted too: the banner's line ending decides).  Values may contain
colons; keys may repeat (``Variable``, ``Output``).  Old Asterisk answers ``Command`` with
``Response: Follows`` and a raw body ended by ``--END COMMAND--``; that body is kept as
``Output`` lines.

Input is bounded: a frame that grows past ``max_frame`` bytes without its empty line is skipped
up to the next one, and a ``Response: Follows`` whose ``--END COMMAND--`` never comes ends where
the next frame (``Event:``/``Response:`` after an empty line) begins, so it cannot hold up the
frames behind it.  Both are reported to ``on_error`` (one short reason, no frame content).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

__all__ = [
    "MAX_FRAME",
    "Banner",
    "Frame",
    "FrameParser",
    "ProtocolError",
    "encode_action",
    "encode_frame",
]

#: Largest frame accepted, in bytes (a ``CoreShowChannels`` item is a few hundred).
MAX_FRAME = 1 << 20


class ProtocolError(ValueError):
    """The peer sent something that is not AMI, or an action value would break framing."""


class Banner(str):
    """The first line the PBX sends, e.g. ``Asterisk Call Manager/13.0.0``."""


class Frame(dict[str, str]):
    """One AMI message.  Mapping access gives a key's first value; ``getlist`` gives all of them.

    Key order and repeated keys are preserved in ``items_all()`` for exact re-encoding.
    """

    __slots__ = ("_pairs",)

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__()
        self._pairs: list[tuple[str, str]] = []
        for key, value in pairs:
            self.add(key, value)

    def add(self, key: str, value: str) -> None:
        self._pairs.append((key, value))
        self.setdefault(key, value)

    def getlist(self, key: str) -> list[str]:
        return [v for k, v in self._pairs if k == key]

    def items_all(self) -> list[tuple[str, str]]:
        return list(self._pairs)

    @property
    def kind(self) -> str:
        """``"event"``, ``"response"`` or ``"action"``."""
        if "Event" in self:
            return "event"
        if "Response" in self:
            return "response"
        return "action"

    @property
    def name(self) -> str:
        """The event name, response status or action name."""
        return self.get("Event") or self.get("Response") or self.get("Action", "")

    def __repr__(self) -> str:
        return f"Frame({self._pairs!r})"


_END_COMMAND = "--END COMMAND--"
_FOLLOWS = b"Response: Follows"
_FOLLOWS_HEADERS = frozenset({"Response", "Privilege", "ActionID", "Message"})
_FRAME_STARTS = (b"Event:", b"Response:")


class FrameParser:
    """Incremental parser.  ``feed(data)`` returns the frames completed by ``data``.

    ``expect_banner``: the first line is the PBX banner (client side); the simulator's server
    side parses client actions and expects none.  ``on_error(reason)`` hears of input that was
    skipped or cut (see the module docstring); ``errors`` counts them.
    """

    def __init__(
        self,
        *,
        expect_banner: bool = True,
        encoding: str = "utf-8",
        max_frame: int = MAX_FRAME,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self._buf = bytearray()  # appended to in place: feeding byte by byte stays linear
        self._scanned = 0  # the buffer before this held no frame end (a frame's search resumes here)
        self._banner_pending = expect_banner
        self._sep = b"\r\n"
        self._encoding = encoding
        self._skipping = False
        self.max_frame = max_frame
        self.on_error = on_error
        self.errors = 0

    def feed(self, data: bytes) -> list[Frame | Banner]:
        self._buf += data
        out: list[Frame | Banner] = []
        if self._banner_pending:
            nl = self._buf.find(b"\n")
            if nl < 0:
                return out
            line = bytes(self._buf[:nl])
            if line.endswith(b"\r"):
                line = line[:-1]
            else:
                self._sep = b"\n"
            del self._buf[: nl + 1]
            self._banner_pending = False
            out.append(Banner(line.decode(self._encoding, "replace")))
        self._frames(out)
        return out

    def _error(self, reason: str) -> None:
        self.errors += 1
        if self.on_error is not None:
            self.on_error(reason)

    def _frames(self, out: list[Frame | Banner]) -> None:
        sep = self._sep
        end = sep + sep
        buf = self._buf
        pos = 0
        text_sep = sep.decode()
        while True:
            if self._skipping:  # inside an oversized frame: drop up to its end
                idx = buf.find(end, pos)
                if idx < 0:
                    pos = max(pos, len(buf) - len(end) + 1)
                    break
                pos, self._skipping = idx + len(end), False
                continue
            while buf.startswith(sep, pos):  # stray empty lines between frames
                pos += len(sep)
            follows = buf.startswith(_FOLLOWS, pos)
            idx, skip = (_follows_end(buf, pos, sep) if follows
                         else (buf.find(end, max(pos, self._scanned)), len(end)))
            if idx < 0 or idx - pos > self.max_frame:
                if max(idx, len(buf)) - pos > self.max_frame:
                    self._error(f"frame longer than {self.max_frame} bytes: skipped")
                    self._skipping = True
                    continue
                if not follows:  # the next feed's search starts where this one gave up
                    self._scanned = max(pos, len(buf) - len(end) + 1)
                break
            block = buf[pos:idx].decode(self._encoding, "replace")
            pos = idx + skip
            if follows:
                if _END_COMMAND not in block:
                    self._error("Response: Follows without --END COMMAND--: ended at the next frame")
                out.append(_parse_block(block.split(text_sep), follows))
            elif text_sep == "\r\n" and block.count("\n") != block.count("\r\n"):
                # bare-LF lines from a peer that mixes line ends: an empty one ends a frame
                self._error("bare LF line ends inside a CRLF stream")
                lines = block.replace("\r\n", "\n").split("\n")
                out.extend(_parse_block(part, False) for part in _split_frames(lines))
            else:
                out.append(_parse_block(block.split(text_sep), follows))
        del buf[:pos]
        self._scanned = max(0, self._scanned - pos)


def _follows_end(buf: bytes | bytearray, pos: int, sep: bytes) -> tuple[int, int]:
    """Where the old-style command output starting at ``pos`` ends, and how long the line
    ends after it are; ``(-1, 0)`` while that is not known yet.

    Its raw body may hold empty lines, so it ends at the first empty line after
    ``--END COMMAND--`` — unless a new frame (``Event:``/``Response:`` at a line start) begins
    first: then the marker never came and the output ends there.
    """
    end = sep + sep
    starts = [(i, len(end)) for key in _FRAME_STARTS if (i := buf.find(end + key, pos)) >= 0]
    starts += [(i, len(sep)) for key in _FRAME_STARTS if (i := buf.find(sep + key, pos)) >= 0]
    boundary, skip = min(starts, default=(-1, 0))
    marker = buf.find(_END_COMMAND.encode(), pos, boundary if boundary >= 0 else len(buf))
    if marker >= 0:
        idx = buf.find(end, marker)
        return idx, len(end) if idx >= 0 else 0
    return boundary, skip


def _split_frames(lines: list[str]) -> list[list[str]]:
    """Lines cut into frames at empty lines (empty frames left out)."""
    frames: list[list[str]] = [[]]
    for line in lines:
        if line:
            frames[-1].append(line)
        elif frames[-1]:
            frames.append([])
    return [f for f in frames if f]


def _parse_block(lines: list[str], follows: bool) -> Frame:
    frame = Frame()
    for line in lines:
        key, colon, value = line.partition(":")
        if colon and " " not in key and (not follows or key in _FOLLOWS_HEADERS):
            frame.add(key, value[1:] if value.startswith(" ") else value)
        elif not (follows and line in ("", _END_COMMAND)):
            frame.add("Output", line)
    return frame


def _check(text: str, what: str) -> str:
    if "\r" in text or "\n" in text:
        raise ProtocolError(f"{what} contains a line break: {text[:40]!r}")
    return text


def encode_frame(pairs: Iterable[tuple[str, str]], *, sep: bytes = b"\r\n") -> bytes:
    """Encode ``(key, value)`` pairs as one frame; line breaks inside values are refused."""
    s = sep.decode()
    lines = [f"{_check(k, 'key')}: {_check(str(v), f'value of {k}')}" for k, v in pairs]
    return (s.join(lines) + s + s).encode()


def encode_action(action: str | Mapping[str, object], fields: Mapping[str, object] | None = None) -> bytes:
    """``encode_action("Originate", {"ActionID": "a1", "Variable": ["A=1", "B=2"]})``.

    A list or tuple value becomes repeated keys, in order.  ``None`` values are left out.
    """
    pairs: list[tuple[str, str]] = []
    if isinstance(action, Mapping):
        fields = action
    else:
        pairs.append(("Action", action))
    for key, value in (fields or {}).items():
        if value is None:
            continue
        if isinstance(value, list | tuple):
            pairs.extend((key, str(v)) for v in value)
        elif isinstance(value, bool):
            pairs.append((key, "true" if value else "false"))
        else:
            pairs.append((key, str(value)))
    return encode_frame(pairs)
