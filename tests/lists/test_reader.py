"""Reading messy files: encodings, delimiters, blank lines, quoted newlines, and unusable files."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from dialer.errors import InputError
from lists.columns import fold, map_columns, parse_overrides
from lists.importer import ImportOptions, import_file
from lists.reader import read_chunks, sniff

ROWS = [["Phone", "First Name", "Notes"], ["+1 212 555 0143", "Zoë", "ok"],
        ["(212) 555-0178", "Łukasz", "line one\nline two"], ["", "", ""], ["+36 1 234 5678", "Péter", "x"]]


def _write(path: Path, delimiter: str, encoding: str, blank_lines: bool = True) -> Path:
    lines = []
    for row in ROWS:
        cells = [f'"{c}"' if ("\n" in c or delimiter in c) else c for c in row]
        lines.append(delimiter.join(cells))
        if blank_lines and row is ROWS[1]:
            lines.append("")
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1250"])
def test_sniff_and_read(tmp_path: Path, delimiter: str, encoding: str) -> None:
    path = _write(tmp_path / "leads.csv", delimiter, encoding)
    fmt = sniff(path)
    assert fmt.delimiter == delimiter
    assert fmt.header == ["Phone", "First Name", "Notes"]
    chunks = list(read_chunks(fmt, chunksize=2))
    frame_rows = [r for ch in chunks for r in ch.frame.itertuples(index=False)]
    rows = [n for ch in chunks for n in ch.rows]
    assert [tuple(r) for r in frame_rows] == [
        ("+1 212 555 0143", "Zoë", "ok"), ("", "", ""), ("(212) 555-0178", "Łukasz", "line one\nline two"),
        ("", "", ""), ("+36 1 234 5678", "Péter", "x")]
    assert rows == [2, 3, 4, 5, 6]  # spreadsheet rows: header is 1, a quoted newline stays one row


def test_legacy_encoding_detected(tmp_path: Path) -> None:
    path = tmp_path / "hu.csv"
    path.write_bytes("TELEFON;NÉV\r\n06 30 123 4567;Őri Árvíztűrő\r\n".encode("cp1250"))
    fmt = sniff(path)
    frame = next(read_chunks(fmt)).frame
    assert frame.iloc[0, 1] == "Őri Árvíztűrő"


def test_forced_encoding_and_delimiter(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_bytes("phone:name\n2125550143:Ann\n".encode("latin-1"))
    fmt = sniff(path, encoding="latin-1", delimiter=":")
    assert (fmt.encoding, fmt.delimiter, fmt.header) == ("iso8859-1", ":", ["phone", "name"])
    with pytest.raises(InputError, match="unknown encoding"):
        sniff(path, encoding="klingon")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "file not found"),
        (b"", "empty"),
        (b"\n\n  \n", "empty"),
        (b"PK\x03\x04\x00\x00\x00binary\x00\x00\xff\xfe\x00", "not a text table"),
        (b"name,city\nAnn,Paris\n", "no phone column found"),
    ],
)
def test_unusable_files(sqlite_engine: Engine, tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "bad.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message) as err:
        import_file(sqlite_engine, path, ImportOptions("x", region="US"))
    assert str(path) in str(err.value) and "\n" not in str(err.value)
    with sqlite_engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM lead_lists").scalar() == 0
    assert not (tmp_path / "bad.rejected.csv").exists()


def test_undecodable_later_rolls_back(sqlite_engine: Engine, tmp_path: Path) -> None:
    """A bad byte after the sniffed sample: one error, nothing imported, no half-written rejects."""
    path = tmp_path / "late.csv"
    good = "".join(f"+1212555{i:04d},Ann\n" for i in range(70000))  # past the sniffed sample (1 MiB)
    path.write_bytes(b"phone,name\n" + good.encode() + b"+12125550000,\xff\xfe\xfa\n")
    with pytest.raises(InputError, match="cannot decode"):
        import_file(sqlite_engine, path, ImportOptions("late", region="US", chunksize=5000))
    with sqlite_engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM leads").scalar() == 0
        assert conn.exec_driver_sql("SELECT count(*) FROM lead_lists").scalar() == 0
    assert not list(tmp_path.glob("*.rejected.csv*"))


def test_ragged_rows_are_rejected_not_lost(sqlite_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("phone,name\n+12125550143,Ann\n+12125550144,Bob,extra,cells\n+12125550145\n")
    result = import_file(sqlite_engine, path, ImportOptions("r", region="US"))
    assert (result.rows_read, result.imported, result.rejected) == (3, 1, 2)
    assert result.reasons == {"wrong_field_count": 2}


def test_header_recognition() -> None:
    assert fold("Phone Number #2") == "phonenumber"
    cmap = map_columns(["Customer ID", "TELEFON", "Mobil", "NEV", "Irányítószám", "Time Zone", "E-mail", "Phone.1"])
    assert cmap.phones == ["TELEFON", "Mobil", "Phone.1"]
    assert cmap.fields == {"external_id": "Customer ID", "name": "NEV", "postal_code": "Irányítószám",
                           "timezone": "Time Zone"}
    assert cmap.custom == ["E-mail"]
    over = map_columns(["Tel", "Other", "Handy"], parse_overrides(["phone=Other", "phone=handy"]))
    assert over.phones == ["Other", "Handy"] and over.custom == ["Tel"]
    with pytest.raises(InputError, match="no column"):
        map_columns(["a"], parse_overrides(["phone=b"]))
    with pytest.raises(InputError, match="unknown field"):
        parse_overrides(["colour=a"])
