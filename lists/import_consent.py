"""A lead file's consent column, read by ``dialer lists import`` into the consent ledger.

Which columns (:func:`find_columns`): ``--consent-column`` / ``--consent-date-column``, else the
first header that folds (:func:`lists.columns.fold`) to one of :data:`CONSENT_HEADERS`
(``consent``, ``Opt-In``, ``opt_in`` ...) and :data:`DATE_HEADERS` (``consent_at``,
``consent_date`` ...).  What a row says (:meth:`ConsentReader.read`): the yes/no vocabulary of
:mod:`lists.consent` (or a date: consent given that day); an empty cell records nothing; anything
else, or a date later than the import, is the row's rejection (``bad_consent``,
``bad_consent_date``) with a note naming the column and the value.  Pure: no database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from dialer.errors import InputError
from lists.columns import fold
from lists.consent import parse_value, parse_when

#: Folded header names auto-detected as the consent column.  ``opt_out`` / ``unsubscribed``
#: columns mean the opposite and are never taken for it (name them with --consent-column only
#: if their values read yes = consent).
CONSENT_HEADERS = ("consent", "optin", "consentgiven", "consentstatus", "marketingconsent")
#: Folded header names auto-detected as the date consent was given or revoked.
DATE_HEADERS = ("consentat", "consentdate", "consentdatetime", "optinat", "optindate")
BAD_VALUE, BAD_DATE = "bad_consent", "bad_consent_date"


def _pick(columns: list[str], explicit: str | None, known: tuple[str, ...], option: str) -> str | None:
    if explicit is not None:
        by_name = {c.strip().lower(): c for c in columns}
        col = explicit if explicit in columns else by_name.get(explicit.strip().lower())
        if col is None:
            raise InputError(f"{option} {explicit}: no column {explicit!r} in the file (columns: {', '.join(columns)})")
        return col
    folded = {c: fold(c) for c in columns}
    for name in known:
        for c in columns:
            if folded[c] == name:
                return c
    return None


def find_columns(columns: list[str], column: str | None = None,
                 date_column: str | None = None) -> tuple[str | None, str | None]:
    """``(consent column, date column)`` of a file's header; either may be None.  A date column
    without a consent column is ignored (nothing to date)."""
    consent = _pick(columns, column, CONSENT_HEADERS, "--consent-column")
    if consent is None:
        if date_column is not None:
            raise InputError(f"--consent-date-column {date_column}: no consent column in the file "
                             "(give --consent-column)")
        return None, None
    date = _pick([c for c in columns if c != consent], date_column, DATE_HEADERS, "--consent-date-column")
    return consent, date


@dataclass
class Verdicts:
    """A chunk's consent, per row: ``kind`` (``given``, ``revoked`` or None: nothing to record),
    ``at`` (when), and for unreadable rows ``error`` (``bad_consent`` ...) with ``note``."""

    kind: np.ndarray
    at: np.ndarray
    error: dict[int, tuple[str, str]]


@dataclass(frozen=True)
class ConsentReader:
    """Reads the consent (and date) column of each chunk; ``now``: the import's time, the
    default ``at`` and the latest one accepted."""

    column: str
    date_column: str | None
    now: datetime

    def read(self, frame: pd.DataFrame) -> Verdicts:
        """Each distinct cell is parsed once (a file holds a handful of values)."""
        n = len(frame)
        kind = np.full(n, None, object)
        at = np.full(n, self.now, object)
        error: dict[int, tuple[str, str]] = {}
        codes, uniques = pd.factorize(frame[self.column].fillna(""), use_na_sentinel=False)
        parsed: list[tuple[str | None, datetime | None] | None] = []
        for value in uniques:
            try:
                parsed.append(parse_value(str(value)))
            except ValueError:
                parsed.append(None)
        if self.date_column is not None:
            dcodes, duniques = pd.factorize(frame[self.date_column].fillna(""), use_na_sentinel=False)
            dates: list[datetime | None | str] = []
            for value in duniques:
                text = str(value).strip()
                if not text:
                    dates.append(None)
                    continue
                try:
                    dates.append(parse_when(text))
                except ValueError:
                    dates.append(text)  # unreadable: the text, for the note
        for u, p in enumerate(parsed):
            rows = np.flatnonzero(codes == u)
            value = str(uniques[u])
            if p is None:
                note = f"column {self.column!r}: {value.strip()!r} is not yes/no, opt-in/opt-out or a date"
                error.update(dict.fromkeys(rows.tolist(), (BAD_VALUE, note)))
                continue
            k, day = p
            if k is None:
                continue
            kind[rows] = k
            if day is not None:
                at[rows] = day
        if self.date_column is not None:
            for u, d in enumerate(dates):
                if d is None:
                    continue
                rows = np.flatnonzero((dcodes == u) & np.not_equal(kind, None))
                if isinstance(d, str):
                    note = f"column {self.date_column!r}: {d!r} is not a date like 2026-05-01 or 2026-05-01T10:00:00Z"
                    for i in rows.tolist():
                        error.setdefault(i, (BAD_DATE, note))
                else:
                    at[rows] = d
        late = np.flatnonzero(np.not_equal(kind, None) & (at > self.now))
        for i in late.tolist():
            where = self.date_column if self.date_column is not None else self.column
            error.setdefault(i, (BAD_DATE, f"column {where!r}: {at[i].isoformat()} is later than the import "
                                           f"({self.now.isoformat(timespec='seconds')}; a time without an offset is UTC)"))
        if error:
            kind[list(error)] = None
        return Verdicts(kind, at, error)
