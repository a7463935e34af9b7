"""The shape of an import's transform, shared by the per-row reference (:mod:`lists.transform`)
and the columnar transform (:mod:`lists.columnar`): what the transform knows about the file
(:class:`Spec`), the lead insert record it produces (:data:`RECORD_FIELDS`), and the helpers both
use (name splitting, the country → region cache, the phone normaliser).
"""

from __future__ import annotations

from dataclasses import dataclass

from lists.columns import ColumnMap
from lists.phones import Normaliser, country_to_region

FAMILY_NAME_FIRST = {"HU", "JP", "CN", "KR", "TW", "VN"}
BLANK = "blank"

# A transformed row: (index in chunk, phone or None, reason or alternates, record or None).
# The record is the lead's insert tuple (RECORD_FIELDS), ready for executemany / COPY.
Row = tuple[int, str | None, object, tuple | None]
RECORD_FIELDS = ("phone", "alt_phones", "first_name", "last_name", "state", "postal_code", "country",
                 "timezones", "external_id", "custom", "source_row")


def split_name(full: str, region: str | None) -> tuple[str, str]:
    """``"Szabó Péter"`` (HU) → ``("Péter", "Szabó")``; ``"Mary O'Neil"`` → ``("Mary", "O'Neil")``."""
    parts = full.split()
    if len(parts) < 2:
        return full.strip(), ""
    if region in FAMILY_NAME_FIRST:
        return " ".join(parts[1:]), parts[0]
    return " ".join(parts[:-1]), parts[-1]


@dataclass(frozen=True)
class Spec:
    """What the transform needs to know about the file (picklable)."""

    columns: tuple[str, ...]
    cmap: ColumnMap
    region: str | None


#: One normaliser (and its caches) per process.
NORMALISER = Normaliser()
_REGIONS: dict[tuple[str, str | None], str | None] = {}


def region_of(country: str, default: str | None) -> str | None:
    """The region of a country cell (name or code), else ``default``; cached."""
    key = (country, default)
    r = _REGIONS.get(key, 0)
    if r == 0:
        r = _REGIONS[key] = country_to_region(country) or default
    return r
