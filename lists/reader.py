"""Reading lead files: encoding and delimiter detection, then bounded-memory chunks with pandas.

Every value is read as a string (``dtype=str``, no NA conversion). Row numbers are spreadsheet
row numbers: the header is row 1, a quoted field spanning lines stays one row.
"""

from __future__ import annotations

import codecs
import csv
import io
import multiprocessing
import queue
import re
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa

from dialer.errors import InputError

SAMPLE_BYTES = 1 << 20
DELIMITERS = (",", ";", "\t", "|")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)
_SKIPPED = re.compile(r"Skipping line (\d+): (.*)")


@dataclass
class FileFormat:
    """What :func:`sniff` found out about a file."""

    path: Path
    encoding: str
    delimiter: str
    header: list[str]
    leading_blank: int = 0  # blank lines before the header
    notes: list[str] = field(default_factory=list)


def _detect_encoding(path: Path, sample: bytes) -> str:
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return name
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        if b"\x00" not in sample:
            return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(sample[:200_000]).best()
    if best is None or (b"\x00" in sample and not best.encoding.startswith("utf_16")):
        raise InputError(f"{path}: not a text table (binary content, or an unknown encoding: try --encoding)")
    return best.encoding


def _check_encoding(path: Path, name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise InputError(f"{path}: unknown encoding {name!r}") from None


def _decode_sample(path: Path, sample: bytes, encoding: str) -> str:
    try:
        return codecs.getincrementaldecoder(encoding)().decode(sample, final=False)
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: cannot decode the file as {encoding} ({exc.reason} at byte {exc.start})") from None


def _sniff_delimiter(text: str) -> str:
    best, best_score = ",", (0, 0.0, 0)
    head = text[:65536]
    for d in DELIMITERS:
        counts = []
        try:
            for rec in csv.reader(io.StringIO(head), delimiter=d, quotechar='"'):
                if any(cell.strip() for cell in rec):
                    counts.append(len(rec))
                if len(counts) >= 50:
                    break
        except csv.Error:
            continue
        if not counts or counts[0] < 2:
            continue
        rows = counts[1:-1] or counts[1:] or counts  # the last record of a sample may be cut short
        consistency = sum(1 for c in rows if c == counts[0]) / len(rows)
        score = (1, consistency, counts[0])
        if score > best_score:
            best, best_score = d, score
    return best


def sniff(path: Path | str, encoding: str | None = None, delimiter: str | None = None) -> FileFormat:
    """Open ``path`` and find its encoding, delimiter and header; :class:`InputError` if unusable."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            sample = fh.read(SAMPLE_BYTES)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the file ({exc.strerror})") from None
    enc = _check_encoding(path, encoding) if encoding else _detect_encoding(path, sample)
    text = _decode_sample(path, sample, enc).lstrip("\ufeff")
    if not text.strip():
        raise InputError(f"{path}: the file is empty")
    if delimiter:
        delim = {"tab": "\t", "\\t": "\t", "pipe": "|", "comma": ",", "semicolon": ";"}.get(delimiter, delimiter)
        if len(delim) != 1:
            raise InputError(f"{path}: the delimiter must be one character, not {delimiter!r}")
    else:
        delim = _sniff_delimiter(text)
    lines = text.splitlines()
    leading = 0
    while leading < len(lines) and not lines[leading].strip(delim + " \t"):
        leading += 1
    try:
        header = next(csv.reader(io.StringIO("\n".join(lines[leading:leading + 50])), delimiter=delim))
    except (StopIteration, csv.Error):
        raise InputError(f"{path}: not a table (no header row found)") from None
    return FileFormat(path, enc, delim, [h.strip() for h in header], leading)


@dataclass
class Chunk:
    frame: pd.DataFrame  # all columns as str, no NA
    rows: list[int]  # spreadsheet row number of each record
    malformed: list[tuple[int, str]]  # (line number, message) of lines pandas could not split


def read_chunks(fmt: FileFormat, chunksize: int = 100_000) -> Iterator[Chunk]:
    """Yield the file's records in chunks; an undecodable byte raises :class:`InputError`."""
    reader = pd.read_csv(
        fmt.path,
        sep=fmt.delimiter,
        encoding=fmt.encoding,
        dtype=str,
        keep_default_na=False,
        na_filter=False,
        skip_blank_lines=False,
        skiprows=fmt.leading_blank,
        header=0,
        index_col=False,
        quotechar='"',
        chunksize=chunksize,
        on_bad_lines="warn",
        engine="c",
    )
    shift = fmt.leading_blank + 2
    try:
        with reader:
            while True:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    try:
                        frame = next(reader)
                    except StopIteration:
                        return
                malformed = []
                for w in caught:
                    for m in _SKIPPED.finditer(str(w.message)):
                        malformed.append((int(m.group(1)) + fmt.leading_blank, m.group(2).strip()))
                rows = (frame.index + shift).tolist()
                shift += len(malformed)
                yield Chunk(frame, rows, malformed)
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{fmt.path}: cannot decode the file as {fmt.encoding} ({exc.reason}); try --encoding"
        ) from None
    except pd.errors.EmptyDataError:
        raise InputError(f"{fmt.path}: the file is empty") from None
    except pd.errors.ParserError as exc:
        raise InputError(f"{fmt.path}: not a readable table ({str(exc).strip()})") from None


def estimate_rows(path: Path | str) -> int | None:
    """A rough row count from the file size and the first 64 KB (for progress bars)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(65536)
    except OSError:
        return None
    lines = head.count(b"\n") or 1
    return max(1, int(size / (len(head) / lines)) - 1)


def _string_dtype(t: pa.DataType) -> pd.StringDtype | None:
    return pd.StringDtype("pyarrow") if pa.types.is_string(t) or pa.types.is_large_string(t) else None


def _reader_child(fmt: FileFormat, chunksize: int, out: multiprocessing.Queue) -> None:
    """In the reader process: every chunk as an arrow table (cheap to send), then ``None``."""
    try:
        for ch in read_chunks(fmt, chunksize):
            table = pa.Table.from_pandas(ch.frame, preserve_index=False)
            out.put((table, list(ch.frame.columns), ch.rows, ch.malformed))
        out.put(None)
    except BaseException as exc:  # noqa: BLE001 - re-raised in the importing process
        out.put(exc)


def can_fork() -> bool:
    """Whether helper processes may be forked: on Linux only (macOS offers ``fork`` but it is
    unsafe once system frameworks or threads are in use; Windows has none)."""
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


def read_chunks_in_process(fmt: FileFormat, chunksize: int = 100_000, ahead: int = 3) -> Iterator[Chunk]:
    """:func:`read_chunks` in a forked process, ``ahead`` chunks ahead: parsing the CSV then runs
    beside the caller's own work instead of competing with it for the GIL. Same chunks, same
    errors; where forking is not safe (:func:`can_fork`) it reads in this process."""
    if not can_fork():
        yield from read_chunks(fmt, chunksize)
        return
    ctx = multiprocessing.get_context("fork")
    out: multiprocessing.Queue = ctx.Queue(maxsize=ahead)
    proc = ctx.Process(target=_reader_child, args=(fmt, chunksize, out), name="lead-reader", daemon=True)
    proc.start()
    try:
        while True:
            try:
                item = out.get(timeout=1.0)
            except queue.Empty:
                if not proc.is_alive():
                    raise InputError(f"{fmt.path}: the reader process stopped (exit code {proc.exitcode})") from None
                continue
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            table, columns, rows, malformed = item
            frame = table.to_pandas(types_mapper=_string_dtype)
            frame.columns = columns
            yield Chunk(frame, rows, malformed)
    finally:
        if proc.is_alive():
            proc.terminate()
        proc.join()
        out.close()
