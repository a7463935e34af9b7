"""The import's transform over a whole chunk at once (pyarrow compute), row by row only where rare.

:func:`transform_columns` gives, for every row of a chunk, the same phone, reason, alternates and
insert record as the per-row reference :func:`lists.transform.transform` (a Hypothesis test
compares the two on messy chunks). Phone numbers go through :func:`lists.phone_columns.
normalise_column`; time zones are computed once per distinct (zone column, number zones,
region, state, ZIP3); names, trimming and the custom-fields JSON are column operations.
"""

from __future__ import annotations

from dataclasses import dataclass
from json.encoder import encode_basestring as _json_str

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from lists.phone_columns import PhoneColumn, filled, normalise_column, strip
from lists.record import BLANK, NORMALISER, Spec, region_of, split_name
from lists.timezones import lead_zones

_NEEDS_ESCAPE = '["\\\\\\x00-\\x1f]'  # what encode_basestring escapes


@dataclass
class Transformed:
    """One chunk, transformed: per row the phone (or why not) and the insert record's columns."""

    primary: list[str | None] | pa.Array
    reason: list[str | None]  # rows without a phone: the reason, or BLANK; else None
    alts: dict[int, list[str]]  # row index → alternates (rows that have any)
    records: list[list | pa.Array]  # RECORD_FIELDS columns (values of rows without a phone: meaningless)

    def materialised(self) -> Transformed:
        """Every column as a Python list (a worker process sends arrow arrays: cheap to pickle)."""
        def py(c: list | pa.Array) -> list:
            return c.to_pylist() if isinstance(c, pa.Array) else c

        return Transformed(py(self.primary), self.reason, self.alts, [py(c) for c in self.records])


def to_arrow(values: pd.Series | pa.Array | pa.ChunkedArray) -> pa.Array:
    """A string column as one pyarrow ``string`` array (no copy when pandas holds it in arrow)."""
    if isinstance(values, pd.Series):
        arrow = isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"
        values = pa.array(values) if arrow else pa.array(values.to_numpy(dtype=object), type=pa.string())
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return values if values.type == pa.string() else values.cast(pa.string())


def _nonempty_or_null(arr: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(pc.utf8_length(arr), 0), pa.scalar(None, pa.string()), arr)


def _json_pieces(key: str, cells: pa.Array) -> pa.Array:
    """``"key": "value", `` for non-empty cells (JSON-escaped like ``encode_basestring``), else ``""``."""
    piece = pc.binary_join_element_wise(key + '"', cells, '", ', "")
    esc = pc.match_substring_regex(cells, _NEEDS_ESCAPE)
    if pc.any(esc).as_py():
        idx = np.flatnonzero(esc.to_numpy(zero_copy_only=False))
        fixed = [key + _json_str(v) + ", " for v in cells.take(pa.array(idx)).to_pylist()]
        piece = pc.replace_with_mask(piece, esc, pa.array(fixed, pa.string()))
    return pc.if_else(pc.equal(pc.utf8_length(cells), 0), "", piece)


def _regions(spec: Spec, country: pa.Array | None, n: int) -> np.ndarray:
    if country is None:
        return filled(n, spec.region)
    enc = country.dictionary_encode()
    uniq = np.array([region_of(c, spec.region) for c in enc.dictionary.to_pylist()] + [None], object)
    return uniq[enc.indices.to_numpy(zero_copy_only=False)]


def _combine(phones: list[PhoneColumn], n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
    """First valid number per row, its region and zones, the first reason, the alternates."""
    primary = filled(n, None)
    region = filled(n, None)
    zones = filled(n, "")
    reason = filled(n, None)
    which = np.full(n, -1, np.int32)
    alts: dict[int, list[str]] = {}
    for j, col in enumerate(phones):
        valid = col.valid
        if j == 0:
            primary, region, zones, reason = col.e164.copy(), col.region.copy(), col.zones.copy(), col.reason.copy()
            which[valid] = 0
            continue
        new = valid & (which < 0)
        primary[new], region[new], zones[new] = col.e164[new], col.region[new], col.zones[new]
        both = np.flatnonzero(valid & (which >= 0))
        other = col.e164[both]
        differ = other != primary[both]  # another number than the row's first valid one
        if not alts:  # the first column with alternates (the common case: two phone columns)
            alts = {i: [e] for i, e in zip(both[differ].tolist(), other[differ].tolist(), strict=True)}
        else:
            for i, e in zip(both[differ].tolist(), other[differ].tolist(), strict=True):
                lst = alts.get(i)
                if lst is None:
                    alts[i] = [e]
                elif e not in lst:
                    lst.append(e)
        which[new] = j
        first_bad = ~col.blank & ~valid & np.equal(reason, None)
        reason[first_bad] = col.reason[first_bad]
    return primary, region, zones, reason, alts


def _time_zones(explicit: pa.Array | None, zones: np.ndarray, num_region: np.ndarray, state: pa.Array | None,
                postal: pa.Array | None, n: int) -> list[str]:
    """``lead_zones`` of every row, computed once per distinct input."""
    empty = pa.repeat(pa.scalar("", pa.string()), n)
    if postal is not None:
        four = pc.equal(pc.utf8_length(postal), 4)
        zkey = pc.if_else(four, pc.binary_join_element_wise("0", pc.utf8_slice_codeunits(postal, 0, 2), ""),
                          pc.utf8_slice_codeunits(postal, 0, 3))
    else:
        zkey = empty
    parts = [explicit if explicit is not None else empty, pa.array(zones, pa.string()),
             pc.fill_null(pa.array(num_region, pa.string()), ""), state if state is not None else empty, zkey]
    encoded = [p.dictionary_encode() for p in parts]
    key, span = np.zeros(n, np.int64), 1
    for e in encoded:  # one integer per distinct combination (mixed radix over the parts' codes)
        size = len(e.dictionary) + 1
        if span * size >= 1 << 62:  # renumber densely before the key could overflow
            key = np.unique(key, return_inverse=True)[1].reshape(-1)
            span = int(key.max()) + 1
        key = key * size + e.indices.to_numpy(zero_copy_only=False)
        span *= size
    uniq, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    dicts = [e.dictionary.to_pylist() for e in encoded]
    codes = [e.indices.to_numpy(zero_copy_only=False)[first] for e in encoded]
    values = []
    for k in range(len(uniq)):
        ex, zs, reg, st, zk = (d[c[k]] for d, c in zip(dicts, codes, strict=True))
        values.append(lead_zones(ex, tuple(zs.split()), reg or None, st, zk + "00" if len(zk) == 3 else zk))
    return np.array(values, object)[inverse.reshape(-1)].tolist()


def transform_columns(spec: Spec, frame: pd.DataFrame, rownums: list[int], *, lists: bool = True) -> Transformed:
    """Transform one chunk (all columns strings) given with its rows' spreadsheet numbers.

    ``lists=False`` leaves the string columns as arrow arrays (see :meth:`Transformed.materialised`).
    """
    n = len(frame)
    columns = list(spec.columns)
    col = {c: to_arrow(frame.iloc[:, i]) for i, c in enumerate(columns)}
    f = spec.cmap.fields

    def field(name: str, stripped: bool = True) -> pa.Array | None:
        c = f.get(name)
        if c is None:
            return None
        return strip(col[c]) if stripped else col[c]

    regions = _regions(spec, col[f["country"]] if "country" in f else None, n)
    phones = [normalise_column(col[c], regions, NORMALISER) for c in spec.cmap.phones]
    primary, num_region, zones, reason, alts = _combine(phones, n)
    has_phone = np.not_equal(primary, None)
    reason[has_phone] = None
    missing = np.flatnonzero(~has_phone)
    if missing.size:
        need = missing[np.equal(reason[missing], None)]
        if need.size:
            take = pa.array(need)
            has_cell = np.zeros(need.size, bool)
            for c in columns:
                has_cell |= pc.utf8_length(strip(col[c].take(take))).to_numpy(zero_copy_only=False) > 0
            reason[need] = np.where(has_cell, "no_phone", BLANK)
    state, postal = field("state"), field("postal_code")
    tz = _time_zones(field("timezone"), zones, num_region, state, postal, n)
    first, last = field("first_name"), field("last_name")
    pieces = [_json_pieces(_json_str(c) + ": ", col[c]) for c in spec.cmap.custom]
    first_l: list | pa.Array = _nonempty_or_null(first) if first is not None else [None] * n
    last_l: list | pa.Array = _nonempty_or_null(last) if last is not None else [None] * n
    name_c = f.get("name")
    if name_c is not None or lists:
        first_l = first_l.to_pylist() if isinstance(first_l, pa.Array) else first_l
        last_l = last_l.to_pylist() if isinstance(last_l, pa.Array) else last_l
    if name_c is not None:
        raw_name = col[name_c]
        has_name = pc.greater(pc.utf8_length(strip(raw_name)), 0).to_numpy(zero_copy_only=False)
        no_first_last = np.equal(np.array(first_l, object), None) & np.equal(np.array(last_l, object), None)
        split = np.flatnonzero(has_name & no_first_last)
        if split.size:
            for i, full in zip(split.tolist(), raw_name.take(pa.array(split)).to_pylist(), strict=True):
                a, b = split_name(full, num_region[i])
                first_l[i], last_l[i] = a or None, b or None
        keep_name = np.flatnonzero(has_name & ~no_first_last)
        if keep_name.size:  # a name beside first/last names is kept as a custom field
            key = _json_str(name_c) + ": "
            piece = filled(n, "")
            piece[keep_name] = [key + _json_str(v) + ", " for v in raw_name.take(pa.array(keep_name)).to_pylist()]
            pieces.append(pa.array(piece, pa.string()))
    if pieces:
        # (binary_join_element_wise with null_handling="skip" drops all-null rows: no nulls here)
        joined = pc.utf8_slice_codeunits(pc.binary_join_element_wise(*pieces, ""), 0, -2)
        custom = pc.binary_join_element_wise("{", joined, "}", "")
        custom = custom.to_pylist() if lists else custom
    else:
        custom = ["{}"] * n
    geo = np.not_equal(num_region, None) & np.not_equal(num_region, "001")
    country = np.where(geo, num_region, regions).tolist()
    alt_json = ["[]"] * n
    for i, lst in alts.items():
        alt_json[i] = '["' + '", "'.join(lst) + '"]'

    def nullable(a: pa.Array | None) -> list | pa.Array:
        if a is None:
            return [None] * n
        return _nonempty_or_null(a).to_pylist() if lists else _nonempty_or_null(a)

    prim = primary.tolist() if lists else pa.array(primary, pa.string())
    records = [prim, alt_json, first_l, last_l, nullable(state), nullable(postal), country, tz,
               nullable(field("external_id")), custom, list(rownums)]
    return Transformed(prim, reason.tolist(), alts, records)
