"""Property: on any messy file, every row is accounted for and the database agrees."""

from __future__ import annotations

import csv
import io
import itertools
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from dialer.db import open_engine
from dialer.errors import InputError
from lists.importer import ImportOptions, import_file
from lists.phones import normalise

VALID = ["+1 212 555 0143", "(212) 555-0178", "1.2125550143E10", "212-555-0199", "+36 1 234 5678",
         "+44 20 7946 0958", "2065550110", "+1 808 555 0123", "0036 70 555 1234"]
INVALID = ["555-0100", "abc-defg", "12", "+999 123", "=1+2", "-", "@x", "2.12555E+10"]
TEXT = st.text(alphabet="abcXYZ éüñ,;|\t\"'\n=+-@", max_size=12)

_names = itertools.count()


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    with tempfile.TemporaryDirectory() as tmp:
        eng = open_engine(f"sqlite:///{tmp}/prop.db")
        yield eng
        eng.dispose()


@st.composite
def messy_files(draw: st.DrawFn) -> dict:
    n = draw(st.integers(0, 30))
    rows = []
    for _ in range(n):
        kind = draw(st.sampled_from(["valid", "valid", "invalid", "empty", "blank", "dup"]))
        if kind == "blank":
            rows.append(None)
            continue
        if kind == "dup" and any(rows):
            phone = draw(st.sampled_from([r[0] for r in rows if r]))
        elif kind in ("valid", "dup"):
            phone = draw(st.sampled_from(VALID))
        elif kind == "invalid":
            phone = draw(st.sampled_from(INVALID))
        else:
            phone = ""
        rows.append([phone, draw(TEXT), draw(TEXT)])
    return {
        "rows": rows,
        "delimiter": draw(st.sampled_from([",", ";", "\t", "|"])),
        "encoding": draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"])),
        "force_encoding": draw(st.booleans()),
        "crlf": draw(st.booleans()),
    }


def _write(path: Path, spec: dict) -> int:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=spec["delimiter"], lineterminator="\r\n" if spec["crlf"] else "\n")
    w.writerow(["Phone", "First Name", "Comment"])
    data_rows = 0
    for row in spec["rows"]:
        if row is None:
            buf.write("\r\n" if spec["crlf"] else "\n")
        else:
            w.writerow(row)
            data_rows += 1 if any(c.strip() for c in row) else 0
    path.write_bytes(buf.getvalue().encode(spec["encoding"]))
    return data_rows


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messy_files())
def test_counts_reconcile(engine: Engine, spec: dict) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "messy.csv"
        data_rows = _write(path, spec)
        name = f"prop-{next(_names)}"
        options = ImportOptions(name, region="US", dedupe="list",
                                encoding=spec["encoding"] if spec["force_encoding"] else None)
        if not data_rows:  # a header alone (or blank lines): an error, no list created
            with pytest.raises(InputError, match="no data rows"):
                import_file(engine, path, options)
            return
        result = import_file(engine, path, options)
        assert result.rows_read == result.imported + result.rejected + result.duplicates + result.dnc
        assert result.rows_read == data_rows
        assert sum(result.reasons.values()) == result.rejected
        assert sum(result.not_imported.values()) == result.rows_read - result.imported
        expected = {normalise(r[0], "US").e164 for r in spec["rows"] if r} - {None}
        assert result.imported == len(expected)
        with engine.connect() as conn:
            stored = conn.exec_driver_sql(
                "SELECT count(*) FROM leads JOIN lead_lists ON lead_lists.id = leads.list_id WHERE lead_lists.name = ?",
                (name,)).scalar() if result.imported else 0
        assert stored == result.imported
        rejects = Path(tmp) / "messy.rejected.csv"
        if result.rows_read > result.imported:
            with rejects.open(encoding="utf-8-sig", newline="") as fh:
                out = list(csv.reader(fh, delimiter=result.delimiter))
            assert out[0][-2:] == ["row", "reason"]
            assert len(out) - 1 == result.rows_read - result.imported
            for cells in out[1:]:  # spreadsheet-safe: no cell starts a formula
                assert not any(c[:1] in ("=", "+", "-", "@", "\t", "\r") for c in cells)
        else:
            assert not rejects.exists()
