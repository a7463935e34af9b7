"""Spreadsheet-safe CSV cells: a leading ``= + - @``, tab or CR would start a formula."""

from __future__ import annotations

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
