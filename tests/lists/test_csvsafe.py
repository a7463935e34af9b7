"""Spreadsheet-safe cells: the column form neutralises exactly what the per-cell one does."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from lists.csvsafe import safe_cell, safe_column


@given(st.lists(st.one_of(st.none(), st.text(alphabet="=+-@\t\r a'1é\n", max_size=5)), max_size=30))
def test_column_and_cell_agree(values: list[str | None]) -> None:
    assert safe_column(pa.array(values, pa.string())).to_pylist() == [safe_cell(v) for v in values]


def test_formulas_are_text() -> None:
    assert [safe_cell(v) for v in ("=1+1", "+36 1", "-x", "@a", "\tb", "ok", None)] == [
        "'=1+1", "'+36 1", "'-x", "'@a", "'\tb", "ok", ""]
