"""Spreadsheet-safe CSV cells: a leading ``= + - @``, tab or CR would start a formula."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """``"=HYPERLINK(...)"`` → ``"'=HYPERLINK(...)"``; other values unchanged (``None`` → ``""``)."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if text and text[0] in DANGEROUS:
        return "'" + text
    return text


def safe_row(values: list | tuple) -> list[str]:
    return [safe_cell(v) for v in values]


_DANGEROUS_START = "^[=+\\-@\t\r]"


def safe_column(values: pa.Array) -> pa.Array:
    """:func:`safe_cell` of every string of an arrow column (nulls become ``""``)."""
    values = pc.fill_null(values, "")
    return pc.if_else(pc.match_substring_regex(values, _DANGEROUS_START),
                      pc.binary_join_element_wise("'", values, ""), values)
