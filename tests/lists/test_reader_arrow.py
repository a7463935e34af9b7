"""The reader's pyarrow path gives exactly what pandas gives: records, row numbers, malformed
lines and errors — for regular files by itself, for irregular ones by handing over to pandas at
the first record it has not given yet."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import lists.reader as reader
from dialer.errors import InputError
from lists.reader import FileFormat, read_chunks, sniff

CELL = st.text(alphabet='ab é,;|\t"\r\n=', max_size=6)


def _cell(value: str, delimiter: str, quote: bool) -> str:
    if quote or any(ch in value for ch in (delimiter, '"', "\n", "\r")):
        return '"' + value.replace('"', '""') + '"'
    return value


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[bytes, str]:
    """Mostly regular tables, with now and then what real files have: a short or long row, a
    blank line, an unquoted quote, CR or CRLF line ends, a BOM, no final newline, bad UTF-8."""
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    width = draw(st.integers(1, 4))
    header = [f"col{i}" for i in range(width)]
    if draw(st.booleans()):
        header[-1] = header[0]  # a duplicate name: pandas renames it
    lines = [delimiter.join(header)]
    for _ in range(draw(st.integers(0, 25))):
        kind = draw(st.sampled_from(["row"] * 8 + ["short", "long", "blank", "raw"]))
        if kind == "blank":
            lines.append("")
            continue
        n = width + {"short": -1, "long": 1}.get(kind, 0)
        cells = draw(st.lists(CELL, min_size=max(n, 0), max_size=max(n, 0)))
        if kind == "raw":  # written without any quoting: whatever that makes of the row
            lines.append(delimiter.join(cells))
        else:
            lines.append(delimiter.join(_cell(c, delimiter, draw(st.booleans())) for c in cells))
    end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = end.join(lines) + (end if draw(st.booleans()) else "")
    data = text.encode("utf-8")
    if draw(st.booleans()):
        data = codecs.BOM_UTF8 + data
    if draw(st.integers(0, 9)) == 0:  # a byte that is not UTF-8
        at = draw(st.integers(0, len(data)))
        data = data[:at] + b"\xff" + data[at:]
    return data, delimiter


def _outcome(chunks):
    try:
        got = list(chunks)
    except InputError as exc:
        return "error", str(exc)
    records = [tuple(r) for ch in got for r in ch.frame.itertuples(index=False)]
    columns = {tuple(ch.frame.columns) for ch in got}
    return (records, [n for ch in got for n in ch.rows], [m for ch in got for m in ch.malformed], columns)


def _format(path: Path, delimiter: str) -> FileFormat | None:
    try:
        return sniff(path, delimiter=delimiter)
    except InputError:
        return None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(csv_files(), st.integers(1, 7))
@example((b'a,b\n1,2\n"x\ny",3\n4,5\n6,7,8\n9,10\n11\n', ","), 2)
@example((b"a,b\n1,2\n\n3,4\n", ","), 1)
@example((b'a\n"open\n', ","), 3)
@example((b'col0\n"\n\n"\r"', ","), 1)  # a quote left open at the end: pandas' error, not a value
@example((b'col0\n\r"\n\n"\r"', ","), 1)
@example((b"col0,col1,col2\r,,;\r,,\r,,\r,,\r,,", ","), 1)  # bare CRs: pandas shifts a cell
@example((b'col0,col1,col0\n,,"\n,,\n,,', ","), 1)  # duplicate names and an open quote: one error
def test_same_as_pandas(tmp_path: Path, file: tuple[bytes, str], chunksize: int) -> None:
    data, delimiter = file
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    fmt = _format(path, delimiter)
    if fmt is None:
        return
    assert _outcome(read_chunks(fmt, chunksize)) == _outcome(reader._read_pandas(fmt, chunksize))


def _regular(path: Path, n: int) -> Path:
    rows = ["Phone,Name,Notes"] + [f'+1212555{i:04d},Ann {i},"two\nlines, quoted"' for i in range(n)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_a_regular_file_is_read_by_pyarrow_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fmt = sniff(_regular(tmp_path / "r.csv", 250))
    expected = _outcome(reader._read_pandas(fmt, 100))
    monkeypatch.setattr(reader, "_read_pandas", lambda *a, **k: pytest.fail("pandas was used"))
    chunks = list(read_chunks(fmt, 100))
    assert [len(ch.rows) for ch in chunks] == [100, 100, 50]
    assert _outcome(chunks) == expected and expected[1] == list(range(2, 252))


def test_an_irregular_row_hands_over_to_pandas_where_pyarrow_stopped(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    path = _regular(tmp_path / "r.csv", 100_000)  # several pyarrow blocks (it parses one ahead)
    path.write_text(path.read_text(encoding="utf-8") + "+12125559999,too,many,fields\n+12125559998,Bo,x\n",
                    encoding="utf-8")
    fmt = sniff(path)
    expected = _outcome(reader._read_pandas(fmt, 1000))
    skips = []
    real = reader._read_pandas

    def spy(fmt, chunksize, skip=0, columns=None):
        skips.append(skip)
        return real(fmt, chunksize, skip, columns)

    monkeypatch.setattr(reader, "_read_pandas", spy)
    got = _outcome(read_chunks(fmt, 1000))
    assert got == expected
    assert [m[0] for m in expected[2]] == [100_002]
    assert len(skips) == 1 and 0 < skips[0] <= 100_000 and skips[0] % 1000 == 0  # pyarrow gave the first part
