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
import unicodedata
import warnings
from collections import Counter
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

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


#: Legacy (8-bit) encodings of CRM exports by country, most likely first: a file that is not
#: UTF-8 is decoded with the first of its region's that fits, then with the others.
REGION_ENCODINGS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("HU", "PL", "CZ", "SK", "SI", "HR", "RO", "BA", "RS", "AL"), ("cp1250", "iso8859_2")),
    **dict.fromkeys(("RU", "UA", "BG", "BY", "MK", "KZ"), ("cp1251", "koi8_r")),
    **dict.fromkeys(("GR", "CY"), ("cp1253",)),
    **dict.fromkeys(("TR", "AZ"), ("cp1254",)),
    **dict.fromkeys(("EE", "LV", "LT"), ("cp1257",)),
    "IL": ("cp1255",), "VN": ("cp1258",), "TH": ("cp874",),
    "JP": ("cp932", "euc_jp"), "CN": ("gb18030",), "KR": ("cp949",), "TW": ("cp950",), "HK": ("cp950",),
}
#: Tried after the region's, in this order: Western European first (the most common legacy
#: export), then Central European and Cyrillic.
FALLBACK_ENCODINGS = ("cp1252", "cp1250", "cp1251")


def _detect_encoding(path: Path, sample: bytes, region: str | None = None) -> str:
    """The file's encoding: a BOM's, else UTF-8 if the sample is valid UTF-8, else the first
    legacy encoding (the region's usual ones first) that decodes the sample into plausible
    text; a short file is decided the same way (a statistical guess is wrong on few rows)."""
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return name
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        if b"\x00" not in sample:
            return "utf-8"
    except UnicodeDecodeError:
        pass
    if b"\x00" not in sample:
        candidates = REGION_ENCODINGS.get((region or "").upper(), ()) + FALLBACK_ENCODINGS
        scored = [(score, -i, name) for i, name in enumerate(dict.fromkeys(candidates))
                  if (score := _language_score(sample, name)) is not None]
        if scored:
            return max(scored)[2]
    from charset_normalizer import from_bytes

    best = from_bytes(sample[:200_000]).best()
    if best is None or (b"\x00" in sample and not best.encoding.startswith("utf_16")):
        raise InputError(f"{path}: not a text table (binary content, or an unknown encoding: try --encoding)")
    return best.encoding


#: Lower-case letters beyond ASCII of languages lead files are written in: a right 8-bit guess
#: gives a file's accented letters from one language; a wrong one mixes languages (French
#: è read as cp1250 is Czech č), or gives symbols, or Cyrillic inside Latin words.
ALPHABETS = (
    "àâæçéèêëîïôœùûüÿ", "äöüß", "áéíñóúü", "áâãàçéêíóôõú", "àèéìíîòóùú", "éëïóöü", "åæøäöé",
    "áðéíóúýþæö", "ąćęłńóśźż", "áčďéěíňóřšťúůýž", "áäčďéíĺľňóôŕšťúýž", "áéíóöőúüű", "ăâîșțşţ",
    "čćđšž", "çğıöşü", "абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґў", "αβγδεζηθικλμνξοπρστυφχψωάέήίόύώςϊϋ",
)
_WORD = re.compile(r"\w+")


def _language_score(sample: bytes, encoding: str) -> tuple[float, float] | None:
    """How well ``sample`` decoded as ``encoding`` reads as a lead file's text: None when it
    cannot be (undecodable, control characters, many symbols, Cyrillic or Greek inside Latin
    words); else the largest share of its accented letters (a symbol counting as a letter no
    alphabet has) that two languages' alphabets hold (names come from several), then one's."""
    try:
        text = sample.decode(encoding, errors="strict")
    except (UnicodeDecodeError, LookupError):
        return None
    if len(text) > len(sample):  # a multi-byte decoder stopped inside a character
        return None
    letters: list[str] = []
    odd = 0
    for ch in text:
        if ch.isascii():
            if ord(ch) < 32 and ch not in "\t\r\n":
                return None
            continue
        cat = unicodedata.category(ch)
        if cat[0] == "C":
            return None
        if cat[0] == "L":
            letters.append(ch.lower())
        elif cat[0] != "Z" and cat not in ("Pd", "Pi", "Pf", "Po", "Ps", "Pe"):
            odd += 1
    if odd > max(1, len(text) // 1000):
        return None
    for word in _WORD.findall(text):
        if any(c.isascii() and c.isalpha() for c in word) and any(
                "\u0370" <= c <= "\u04ff" for c in word):
            return None
    if not letters:
        return (1.0, 1.0)
    counts = Counter(letters)
    total = len(letters) + odd
    held = [sum(n for c, n in counts.items() if c in alphabet) for alphabet in ALPHABETS]
    pairs = max(sum(n for c, n in counts.items() if c in a or c in b)
                for i, a in enumerate(ALPHABETS) for b in ALPHABETS[i:])
    return (pairs / total, max(held) / total)


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


def sniff(path: Path | str, encoding: str | None = None, delimiter: str | None = None,
          region: str | None = None) -> FileFormat:
    """Open ``path`` and find its encoding (``region``: the country whose legacy encodings to
    try first), delimiter and header; :class:`InputError` if unusable."""
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
    enc = _check_encoding(path, encoding) if encoding else _detect_encoding(path, sample, region)
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
    #: (row number, message, raw text) of records with more or fewer fields than the header
    malformed: list[tuple[int, str, str]]


# Huge cells are data too (a notes column): csv's default limit (128 KiB) would stop the scan.
csv.field_size_limit(2**31 - 1)


def ragged_records(fmt: FileFormat, width: int) -> dict[int, tuple[int, str]]:
    """Records whose field count is not ``width`` (blank lines aside): row number → (fields,
    the record's text, re-joined whole). pandas fills a short record silently and drops a long
    one with a line number only; this scan (Python's csv, on irregular files only) finds both
    and keeps their cells. It stops quietly where the file cannot be decoded (pandas says why).
    """
    found: dict[int, tuple[int, str]] = {}
    out = io.StringIO()
    writer = csv.writer(out, delimiter=fmt.delimiter, lineterminator="")
    try:
        with fmt.path.open(encoding=fmt.encoding, newline="") as fh:
            for n, record in enumerate(csv.reader(fh, delimiter=fmt.delimiter, quotechar='"'), start=1):
                if n <= fmt.leading_blank + 1 or len(record) in (0, width):
                    continue
                if len(record) == 1 and not record[0]:
                    continue
                out.seek(0)
                out.truncate()
                writer.writerow(record)
                found[n] = (len(record), out.getvalue())
    except (UnicodeDecodeError, csv.Error, OSError):
        pass
    return found


def read_chunks(fmt: FileFormat, chunksize: int = 100_000) -> Iterator[Chunk]:
    """Yield the file's records in chunks; an undecodable byte raises :class:`InputError`.

    A regular UTF-8 file (every record with the header's number of fields, no blank lines) is
    parsed by pyarrow's CSV reader, several times cheaper than pandas'; at the first thing
    it does not accept (a short or long row, a blank line, bad UTF-8, an open quote) pandas
    reads the rest, from the first record not yet given — so every file gets pandas' rules for
    irregular rows, with the same chunks, row numbers and errors (a property test compares).
    """
    given, columns = 0, None
    if _arrow_eligible(fmt):
        columns = pandas_columns(fmt)
        arrow = _read_arrow(fmt, chunksize, columns)
        try:
            while True:
                try:
                    ch = next(arrow)
                except StopIteration as done:
                    if done.value:
                        return
                    break
                given += len(ch.rows)
                yield ch
        finally:
            arrow.close()  # its file, also when the caller stops early
    yield from _read_pandas(fmt, chunksize, given, columns)


def _read_pandas(fmt: FileFormat, chunksize: int, skip: int = 0, columns: list[str] | None = None) -> Iterator[Chunk]:
    """pandas' reader, from data record ``skip`` on (the ones before were given already;
    ``columns``: :func:`pandas_columns`, when the caller has them)."""
    # Always the header's names: given the header itself, pandas widens the table to a longer
    # first record (its extra cells dropped without a word). The header and the records given
    # already are skipped as records (quoted newlines respected).
    names = columns if columns is not None else pandas_columns(fmt)
    if not names:  # pandas could not read the header alone (e.g. a quote open to the end)
        names = _unique_names(fmt.header)
    start = dict(header=None, names=names, skiprows=fmt.leading_blank + 1 + skip)
    ragged = ragged_records(fmt, len(names))
    shift = fmt.leading_blank + 2 + skip
    try:
        reader = pd.read_csv(
            fmt.path,
            sep=fmt.delimiter,
            encoding=fmt.encoding,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            index_col=False,
            quotechar='"',
            chunksize=chunksize,
            on_bad_lines="warn",
            engine="c",
            **start,
        )
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
                        row = int(m.group(1)) + fmt.leading_blank
                        fields, raw = ragged.get(row, (0, ""))
                        message = f"expected {len(names)} fields, saw {fields}" if fields else m.group(2).strip()
                        malformed.append((row, message, raw))
                rows = _row_numbers(len(frame), shift, sorted(m[0] for m in malformed))
                shift = max(rows[-1:] + [m[0] for m in malformed], default=shift - 1) + 1
                yield _drop_ragged(Chunk(frame, rows, malformed), ragged, len(names))
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{fmt.path}: cannot decode the file as {fmt.encoding} ({exc.reason}); try --encoding"
        ) from None
    except pd.errors.EmptyDataError:  # nothing after the header (an empty file stops at sniff)
        return
    except pd.errors.ParserError as exc:
        raise InputError(f"{fmt.path}: not a readable table ({str(exc).strip()})") from None


def _row_numbers(n: int, first: int, skipped: list[int]) -> list[int]:
    """Row numbers of ``n`` records read from row ``first`` on, around the ``skipped`` rows."""
    rows, j = [], 0
    for i in range(n):
        row = first + i + j
        while j < len(skipped) and skipped[j] <= row:
            j += 1
            row = first + i + j
        rows.append(row)
    return rows


def _drop_ragged(chunk: Chunk, ragged: dict[int, tuple[int, str]], width: int) -> Chunk:
    """Move the records pandas kept with a field count not the header's to ``malformed``: short
    ones it filled up, a long first one it cut (``index_col=False``)."""
    odd = [i for i, row in enumerate(chunk.rows) if row in ragged]
    if not odd:
        return chunk
    malformed = chunk.malformed + [
        (chunk.rows[i], f"expected {width} fields, saw {ragged[chunk.rows[i]][0]}", ragged[chunk.rows[i]][1])
        for i in odd]
    keep = sorted(set(range(len(chunk.rows))) - set(odd))
    frame = chunk.frame.iloc[keep].reset_index(drop=True)
    return Chunk(frame, [chunk.rows[i] for i in keep], sorted(malformed))


def _unique_names(header: list[str]) -> list[str]:
    """The header's names made unique and non-blank the way pandas does (``a``, ``a.1``;
    ``Unnamed: 2``): ``read_csv`` refuses duplicate ``names`` with a ValueError."""
    seen: set[str] = set()
    out = []
    for i, name in enumerate(header):
        name = name or f"Unnamed: {i}"
        base, n = name, 0
        while name in seen:
            n += 1
            name = f"{base}.{n}"
        seen.add(name)
        out.append(name)
    return out


def pandas_columns(fmt: FileFormat) -> list[str]:
    """The column names pandas gives the header (duplicates and blanks renamed its way)."""
    try:
        return list(pd.read_csv(fmt.path, sep=fmt.delimiter, encoding=fmt.encoding, dtype=str, nrows=0,
                                skiprows=fmt.leading_blank, index_col=False, quotechar='"').columns)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return []


_ARROW_ENCODINGS = frozenset({"utf-8", "utf-8-sig", "ascii"})


def _arrow_eligible(fmt: FileFormat) -> bool:
    """UTF-8, no blank lines before the header, and lines ended by LF or CRLF: pandas splits
    records at a bare CR its own way (``,,;`` after a CR can come out shifted), so a file
    with bare CRs in its first 64 KiB is pandas' alone."""
    if not (codecs.lookup(fmt.encoding).name in _ARROW_ENCODINGS and fmt.leading_blank == 0
            and fmt.delimiter not in ('"', "\n", "\r")):
        return False
    try:
        with open(fmt.path, "rb") as fh:
            head = fh.read(65536)
    except OSError:
        return False
    return head.count(b"\r") == head.count(b"\r\n")


def _read_arrow(fmt: FileFormat, chunksize: int, columns: list[str]) -> Generator[Chunk, None, bool]:
    """pyarrow's CSV reader while the file is regular; returns whether it read the whole file.

    A batch is given only when nothing irregular was seen up to its end (the handler of
    invalid rows runs while a block is parsed, before its batch is returned), so what was
    given is exactly what pandas would have given; a file with no data rows is left to pandas.
    ``columns``: the names pandas gives the header (:func:`pandas_columns`).
    """
    if not columns:
        return False
    irregular: list[str] = []

    def invalid(row: pacsv.InvalidRow) -> str:
        irregular.append(row.text)
        return "skip"

    names = [f"c{i}" for i in range(len(columns))]
    try:
        fh = open(fmt.path, "rb")  # noqa: SIM115 - closed below
    except OSError:
        return False
    try:
        if fh.read(len(codecs.BOM_UTF8)) != codecs.BOM_UTF8:
            fh.seek(0)
        reader = pacsv.open_csv(
            fh,
            read_options=pacsv.ReadOptions(use_threads=False, block_size=1 << 20, column_names=names),
            parse_options=pacsv.ParseOptions(delimiter=fmt.delimiter, quote_char='"', double_quote=True,
                                             escape_char=False, newlines_in_values=True,
                                             ignore_empty_lines=False, invalid_row_handler=invalid),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()),
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
        header_seen, given = False, 0
        pending: list[pa.RecordBatch] = []
        buffered = 0
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            if irregular:
                return False
            if not header_seen:
                batch, header_seen = batch.slice(1), True
            pending.append(batch)
            buffered += batch.num_rows
            while buffered > chunksize:  # the last record is held back for _ends_in_open_quote
                table = pa.Table.from_batches(pending)
                yield _arrow_chunk(table.slice(0, chunksize), columns, given)
                given += chunksize
                rest = table.slice(chunksize)
                pending, buffered = rest.to_batches(), rest.num_rows
        if irregular:
            return False
        if buffered and _ends_in_open_quote(fh, pending[-1], fmt.delimiter):
            for _ in _read_pandas(fmt, chunksize):  # pandas' own error for the file, word for word
                pass
            return False
        if buffered:
            yield _arrow_chunk(pa.Table.from_batches(pending), columns, given)
            given += buffered
        return given > 0
    except (pa.ArrowException, UnicodeDecodeError):
        return False
    finally:
        fh.close()


def _ends_in_open_quote(fh: io.BufferedReader, last: pa.RecordBatch, delimiter: str) -> bool:
    """Whether the file ends inside a quoted field that was never closed.

    pyarrow takes such a field to the end of the file without a word (``+1212...,"B`` swallows
    every later row into B's name) where pandas stops with "EOF inside string"; only the last
    column of the last record can be that field (elsewhere the record is short, which pyarrow
    reports).  The file then ends with ``"`` and the value, its quotes doubled, right after a
    delimiter or a line end: a closed field ends with one more quote, after a doubled one.
    """
    last = last.slice(last.num_rows - 1)
    value = last.column(last.num_columns - 1)[0].as_py() or ""
    raw = b'"' + value.encode("utf-8").replace(b'"', b'""')
    size = fh.seek(0, io.SEEK_END)
    if size < len(raw):
        return False
    fh.seek(max(0, size - len(raw) - 1))
    tail = fh.read()
    if not tail.endswith(raw):
        return False
    before = tail[: len(tail) - len(raw)]
    return before in (b"", b"\n", b"\r", delimiter.encode("utf-8"))


def _arrow_chunk(table: pa.Table, columns: list[str], given: int) -> Chunk:
    frame = table.combine_chunks().to_pandas(types_mapper=_string_dtype)
    frame.columns = columns
    return Chunk(frame, list(range(given + 2, given + 2 + len(frame))), [])


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
    except BaseException as exc:
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
