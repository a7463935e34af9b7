"""Phone normalisation over a whole column at once: the common shapes in C++, the rest per row.

:func:`normalise_column` gives, for every cell, exactly what :class:`lists.phones.Normaliser`
gives for it (a Hypothesis test compares the two, and the library). The shapes that
:func:`lists.phones.fast_normalise` accepts — ``+`` and digits, a 10/11-digit NANP national
number — are classified with pyarrow's regular expressions (RE2, which runs phonenumbers'
metadata patterns as they are: libphonenumber's C++ port uses RE2 too), in the library's
order of number types, and their time zones are looked up once per distinct zone-table prefix.
Every other non-blank cell (trunk prefixes, ``00`` prefixes, invalid numbers, spreadsheet
damage) goes through the per-row :class:`~lists.phones.Normaliser`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from phonenumbers import (
    PhoneNumber,
    PhoneNumberType,
    ValidationResult,
    is_possible_number_with_reason,
)
from phonenumbers.phonemetadata import PhoneMetadata
from phonenumbers.phonenumberutil import _GEO_MOBILE_COUNTRIES, _test_number_length
from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

from lists.phones import (
    _CC_STRINGS,
    _CC_ZONES,
    _POSSIBLE_REASONS,
    _TYPE_ORDER,
    _TZ_MAXLEN,
    Normaliser,
    _clean_zones,
    _meta,
    _metas_for,
    _zones_lookup,
)

#: Every character ``str.strip()`` removes (``str.isspace``), for an exact ``utf8_trim``: written
#: out rather than found by scanning all of Unicode at import time (a test checks it).
PY_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_FORMATTING_RE = "[ ()\\-./'\t\u00a0]"  # lists.phones._FORMATTING as a character class
UNKNOWN = int(PhoneNumberType.UNKNOWN)
_FIXED, _MOBILE, _FLOM = int(PhoneNumberType.FIXED_LINE), int(PhoneNumberType.MOBILE), int(
    PhoneNumberType.FIXED_LINE_OR_MOBILE)
_GEO = {_FIXED, _FLOM}
_CC_SET = pa.array(sorted(_CC_STRINGS), pa.string())


def filled(n: int, value: object) -> np.ndarray:
    """An object array of ``n`` references to ``value`` (``np.full`` would copy a string n times)."""
    out = np.empty(n, object)
    out.fill(value)
    return out


def strip(arr: pa.Array) -> pa.Array:
    """``str.strip()`` of every value."""
    return pc.utf8_trim(arr, characters=PY_WHITESPACE)


def _lengths(lengths: object) -> frozenset[int] | None:
    """``_length_guard`` as a set: ``None`` = any length; an empty set = no length at all."""
    if not lengths:
        return None
    return frozenset(n for n in lengths if n > 0)


def _len_ok(lens: np.ndarray, allowed: frozenset[int] | None) -> np.ndarray:
    if allowed is None:
        return np.ones(len(lens), bool)
    return np.isin(lens, list(allowed)) if allowed else np.zeros(len(lens), bool)


class _VecMeta:
    """One region's metadata as RE2 patterns, mirroring :class:`lists.phones._Meta`."""

    def __init__(self, md: PhoneMetadata) -> None:
        gen = md.general_desc
        same = bool(md.same_mobile_and_fixed_line_pattern)
        self.same_fixed_mobile = same
        names = [*_TYPE_ORDER, "fixed_line"] + ([] if same else ["mobile"])
        self.types: list[tuple[int, frozenset[int] | None, str]] = []
        for name in names:
            desc = getattr(md, name)
            if desc is None or not desc.national_number_pattern:
                continue
            lens = _lengths(desc.possible_length)
            if lens is not None and not lens:
                continue  # no possible length: never this type
            self.types.append((int(getattr(PhoneNumberType, name.upper())), lens, _full(desc.national_number_pattern)))
        self.general_lengths = _lengths(gen.possible_length)
        self.ok = bool(self.types) and bool(gen.national_number_pattern) and self.general_lengths != frozenset()
        self.general = _full(gen.national_number_pattern) if gen.national_number_pattern else None
        mob = md.mobile
        self.mobile = None
        if mob is not None:
            self.mobile = (frozenset(mob.possible_length or ()),
                           _full(mob.national_number_pattern) if mob.national_number_pattern else None)
        self.leading = f"^(?:{md.leading_digits})" if md.leading_digits else None
        npp = md.national_prefix_for_parsing
        self.prefix_for_parsing = f"^(?:{npp})" if npp else None

    def number_types(self, nsn: pa.Array) -> np.ndarray:
        """``_Meta.number_type`` of every value (int codes, :data:`UNKNOWN` when none)."""
        n = len(nsn)
        out = np.full(n, UNKNOWN, np.int16)
        if not self.ok or n == 0:
            return out
        lens = pc.utf8_length(nsn).to_numpy(zero_copy_only=False)
        remaining = _len_ok(lens, self.general_lengths) & _match(nsn, self.general, None)
        for code, allowed, pattern in self.types:
            idx = np.flatnonzero(remaining & _len_ok(lens, allowed))
            if idx.size == 0:
                continue
            hit = idx[_match(nsn, pattern, idx)]
            out[hit] = code
            remaining[hit] = False
        fixed = np.flatnonzero(out == _FIXED)
        if fixed.size:
            if self.same_fixed_mobile:
                out[fixed] = _FLOM
            elif self.mobile is not None:
                mlens, mpattern = self.mobile
                ok = _len_ok(lens[fixed], frozenset(mlens) or None) if mlens else np.ones(fixed.size, bool)
                if mpattern is None:
                    ok[:] = False
                else:
                    ok &= _match(nsn, mpattern, fixed)
                out[fixed[ok]] = _FLOM
        return out


def _full(pattern: str) -> str:
    return f"^(?:{pattern})$"


def _match(arr: pa.Array, pattern: str | None, idx: np.ndarray | None) -> np.ndarray:
    """Boolean numpy array: ``pattern`` (anchored RE2) matches ``arr`` (or ``arr[idx]``)."""
    if idx is not None and idx.size < len(arr):
        arr = arr.take(pa.array(idx))
    if pattern is None:
        return np.zeros(len(arr), bool)
    return pc.match_substring_regex(arr, pattern).to_numpy(zero_copy_only=False)


_VEC: dict[str, _VecMeta] = {}


def _vec(region: str) -> _VecMeta:
    vm = _VEC.get(region)
    if vm is None:
        vm = _VEC[region] = _VecMeta(PhoneMetadata.metadata_for_region(region, None))
    return vm


_TZ_KEYS: dict[int, pa.Array] = {}
for _key in TIMEZONE_DATA:
    _TZ_KEYS.setdefault(len(_key), []).append(_key)
_TZ_KEYS = {n: pa.array(sorted(keys), pa.string()) for n, keys in _TZ_KEYS.items()}


_HEAD = 4  # digits of a number's head: the common zone-table prefix length (country code + area)
_LONGER_HEADS = frozenset(k[:_HEAD] for k in TIMEZONE_DATA if len(k) > _HEAD)
_HEAD_ZONES: dict[str, str] = {}


def _head_zones(head: str) -> str:
    """The zones of the longest zone-table prefix of ``head`` (space-joined; "" when none)."""
    zones = _HEAD_ZONES.get(head)
    if zones is None:
        key = next((head[:n] for n in range(len(head), 0, -1) if head[:n] in TIMEZONE_DATA), None)
        zones = _HEAD_ZONES[head] = " ".join(_clean_zones(TIMEZONE_DATA[key])) if key else ""
    return zones


def _zones_lookup_column(digits: pa.Array, maxlen: int) -> np.ndarray:
    """``_zones_lookup`` (longest prefix in the zone table, cleaned, space-joined) of every value.

    Grouped by the first :data:`_HEAD` digits: a head that no longer prefix in the table starts
    with decides by itself (one lookup per distinct head); only the other rows are matched
    against the longer prefixes, length by length.
    """
    if maxlen <= _HEAD:
        return _zones_lookup_long(digits, maxlen)
    enc = pc.utf8_slice_codeunits(digits, 0, _HEAD).dictionary_encode()
    heads = enc.dictionary.to_pylist()
    codes = enc.indices.to_numpy(zero_copy_only=False)
    per_head = np.array([_head_zones(h) for h in heads] + [""], object)
    out = per_head[codes]
    longer = np.flatnonzero(np.isin(codes, [k for k, h in enumerate(heads) if h in _LONGER_HEADS]))
    if longer.size:
        out[longer] = _zones_lookup_long(digits.take(pa.array(longer)), maxlen)
    return out


def _zones_lookup_long(digits: pa.Array, maxlen: int) -> np.ndarray:
    """:func:`_zones_lookup_column` length by length from ``maxlen`` down (any values)."""
    n = len(digits)
    out = filled(n, "")
    todo = np.arange(n)
    for length in range(maxlen, 0, -1):
        keys = _TZ_KEYS.get(length)
        if keys is None or todo.size == 0:
            continue
        sub = digits.take(pa.array(todo)) if todo.size < n else digits
        head = pc.utf8_slice_codeunits(sub, 0, length)
        hit = np.flatnonzero(pc.is_in(head, value_set=keys).to_numpy(zero_copy_only=False))
        if hit.size:
            enc = head.take(pa.array(hit)).dictionary_encode()
            names = np.array([" ".join(_clean_zones(TIMEZONE_DATA[k])) for k in enc.dictionary.to_pylist()], object)
            out[todo[hit]] = names[enc.indices.to_numpy(zero_copy_only=False)]
            todo = np.delete(todo, hit)
    return out


def _cc_zones(cc: int) -> str:
    zones = _CC_ZONES.get(cc)
    if zones is None:
        zones = _CC_ZONES[cc] = _clean_zones(_zones_lookup(str(cc)))
    return " ".join(zones)


@dataclass
class _Found:
    """Valid numbers found by the vectorised path for rows ``idx`` (parallel arrays)."""

    idx: np.ndarray
    e164: np.ndarray
    region: np.ndarray
    zones: np.ndarray


def _fast_valid(cc: int, nsn: pa.Array, idx: np.ndarray, e164: pa.Array) -> _Found | None:
    """``lists.phones._fast_valid`` for rows ``idx`` sharing country code ``cc``."""
    metas = _metas_for(cc)
    if metas is None or len(nsn) == 0:
        return None
    n = len(nsn)
    region = filled(n, None)
    ntype = np.full(n, UNKNOWN, np.int16)
    if len(metas) == 1:
        region[:] = metas[0][0]
        ntype = _vec(metas[0][0]).number_types(nsn)
    else:
        unresolved = np.ones(n, bool)
        for r, _m in metas:
            vm = _vec(r)
            todo = np.flatnonzero(unresolved)
            if todo.size == 0:
                break
            sub = nsn.take(pa.array(todo)) if todo.size < n else nsn
            if vm.leading is not None:
                hit = todo[pc.match_substring_regex(sub, vm.leading).to_numpy(zero_copy_only=False)]
                if hit.size:
                    region[hit] = r
                    ntype[hit] = vm.number_types(nsn.take(pa.array(hit)))
                    unresolved[hit] = False
            else:
                t = vm.number_types(sub)
                known = t != UNKNOWN
                region[todo[known]] = r
                ntype[todo[known]] = t[known]
                unresolved[todo[known]] = False
    ok = np.flatnonzero(ntype != UNKNOWN)
    if ok.size == 0:
        return None
    nsn_ok = nsn.take(pa.array(ok)) if ok.size < n else nsn
    types = ntype[ok]
    zones = filled(ok.size, _cc_zones(cc))
    geo = np.isin(types, list(_GEO)) | ((types == _MOBILE) & (cc in _GEO_MOBILE_COUNTRIES))
    gi = np.flatnonzero(geo)
    if gi.size:
        digits = pc.binary_join_element_wise(str(cc), nsn_ok.take(pa.array(gi)) if gi.size < ok.size else nsn_ok, "")
        zones[gi] = _zones_lookup_column(digits, _TZ_MAXLEN.get(str(cc)[0], TIMEZONE_LONGEST_PREFIX))
    e = e164.take(pa.array(ok)) if ok.size < n else e164
    return _Found(idx[ok], e.to_numpy(zero_copy_only=False), region[ok], zones)


@dataclass
class PhoneColumn:
    """Per row: E.164 (``None`` when not valid), reason (``None`` when valid or blank),
    the number's region and its candidate zones (space-separated)."""

    e164: np.ndarray
    reason: np.ndarray
    region: np.ndarray
    zones: np.ndarray
    blank: np.ndarray  # the cell is empty or whitespace
    valid: np.ndarray  # ``e164`` is set


def _plus_shapes(c: pa.Array, rows: np.ndarray) -> list[_Found]:
    """``+digits`` cells (``rows`` of the chunk, ``c`` their cleaned text)."""
    found: list[_Found] = []
    digits = pc.utf8_slice_codeunits(c, 1)
    d1, d2 = pc.utf8_slice_codeunits(digits, 0, 1), pc.utf8_slice_codeunits(digits, 0, 2)
    d3 = pc.utf8_slice_codeunits(digits, 0, 3)
    cc_str = pc.if_else(pc.is_in(d1, value_set=_CC_SET), d1, pc.if_else(pc.is_in(d2, value_set=_CC_SET), d2, d3))
    enc = cc_str.dictionary_encode()
    codes = enc.indices.to_numpy(zero_copy_only=False)
    for k, s in enumerate(enc.dictionary.to_pylist()):
        cc = _CC_STRINGS.get(s)
        if cc is None:
            continue
        sel = np.flatnonzero(codes == k)
        sub_digits = digits.take(pa.array(sel)) if sel.size < len(c) else digits
        nsn = pc.utf8_slice_codeunits(sub_digits, len(s))
        # the library decides: leading zeros, too long, a national prefix after the country code
        keep = pc.and_(pc.invert(pc.starts_with(nsn, "0")),
                       pc.and_(pc.greater(pc.utf8_length(nsn), 0), pc.less_equal(pc.utf8_length(nsn), 17)))
        keep = keep.to_numpy(zero_copy_only=False)
        metas = _metas_for(cc)
        if metas is None:
            continue
        npp = _vec(metas[0][0]).prefix_for_parsing
        if npp is not None:
            keep &= ~pc.match_substring_regex(nsn, npp).to_numpy(zero_copy_only=False)
        ki = np.flatnonzero(keep)
        if ki.size == 0:
            continue
        take = pa.array(ki)
        sub_c = c.take(pa.array(sel[ki]))
        f = _fast_valid(cc, nsn.take(take) if ki.size < len(nsn) else nsn, rows[sel[ki]], sub_c)
        if f is not None:
            found.append(f)
    return found


def _nanp_national(c: pa.Array, rows: np.ndarray, region: str) -> list[_Found]:
    """All-digit cells of NANP region ``region``: 10 digits, or 11 with the ``1`` trunk prefix."""
    m = _meta(region)
    if m is None or m.cc != 1:
        return []
    lens = pc.utf8_length(c).to_numpy(zero_copy_only=False)
    first = pc.utf8_slice_codeunits(c, 0, 1)
    second = pc.utf8_slice_codeunits(c, 1, 2)
    not01_first = ~pc.is_in(first, value_set=pa.array(["0", "1"])).to_numpy(zero_copy_only=False)
    ten = np.flatnonzero((lens == 10) & not01_first)
    found: list[_Found] = []
    if ten.size:
        sub = c.take(pa.array(ten))
        f = _fast_valid(1, sub, rows[ten], pc.binary_join_element_wise("+1", sub, ""))
        if f is not None:
            found.append(f)
    vm = _vec(region)
    eleven = np.flatnonzero((lens == 11) & (first.to_numpy(zero_copy_only=False) == "1")
                            & ~pc.is_in(second, value_set=pa.array(["0", "1"])).to_numpy(zero_copy_only=False))
    if eleven.size and vm.general is not None:
        sub = c.take(pa.array(eleven))
        nsn = pc.utf8_slice_codeunits(sub, 1)
        ok = _match(nsn, vm.general, None) & ~_match(sub, vm.general, None)
        oi = np.flatnonzero(ok)
        if oi.size:
            nsn = nsn.take(pa.array(oi))
            f = _fast_valid(1, nsn, rows[eleven[oi]], pc.binary_join_element_wise("+1", nsn, ""))
            if f is not None:
                found.append(f)
    return found


_SAFE_NATIONAL = "^[0-9 ()\\-./\u00a0]{1,250}$"  # digits and separators the parser only skips
_REPAIRABLE = "^\\+?[0-9]{6,17}[.,]0+$"  # lists.phones._FLOAT (ASCII digits; others go per row)
_LENGTH_RESULTS: dict[tuple[str, int], int] = {}
_POSSIBLE: dict[tuple[int, int], str] = {}


def _length_result(region: str, md: PhoneMetadata, length: int) -> int:
    """``_test_number_length`` for a national number of ``length`` digits (it only reads the length)."""
    key = (region, length)
    res = _LENGTH_RESULTS.get(key)
    if res is None:
        res = _LENGTH_RESULTS[key] = _test_number_length("9" * length, md)
    return res


def _invalid_reason(cc: int, nsn: str) -> str:
    """``slow_normalise``'s reason for a parsed, not valid number (depends on cc and length only)."""
    key = (cc, len(nsn))
    reason = _POSSIBLE.get(key)
    if reason is None:
        num = PhoneNumber(country_code=cc, national_number=int(nsn))
        reason = _POSSIBLE[key] = _POSSIBLE_REASONS.get(is_possible_number_with_reason(num), "invalid_number")
    return reason


@dataclass
class _Invalid:
    idx: np.ndarray
    reason: np.ndarray


def _national_digits(raw: pa.Array, c: pa.Array, rows: np.ndarray, region: str) -> tuple[list[_Found], list[_Invalid]]:
    """National numbers of a non-NANP region, as ``phonenumbers.parse`` reads them (``06 30 ...``).

    Only cells made of digits and separators, not starting with the region's international
    prefix or its country code, without a national-prefix transform; the rest stays per row.
    """
    md = PhoneMetadata.metadata_for_region(region, None)
    if md is None or md.country_code == 1:
        return [], []
    cc, ccs = md.country_code, str(md.country_code)
    ok = _match(raw, _SAFE_NATIONAL, None) & (pc.utf8_length(c).to_numpy(zero_copy_only=False) >= 3)  # viable
    ok &= ~pc.starts_with(c, ccs).to_numpy(zero_copy_only=False)
    if md.international_prefix:
        ok &= ~_match(c, f"^(?:{md.international_prefix})", None)
    npp = md.national_prefix_for_parsing
    keep = np.flatnonzero(ok)
    if keep.size == 0:
        return [], []
    sub = c.take(pa.array(keep))
    nn = sub
    if npp:
        matched = _match(sub, f"^(?:{npp})", None)
        if md.national_prefix_transform_rule:
            keep, sub, matched = keep[~matched], sub.filter(pa.array(~matched)), np.zeros(int((~matched).sum()), bool)
        stripped = pc.replace_substring_regex(sub, f"^(?:{npp})", "", max_replacements=1)
        gen = _vec(region).general
        stays = _match(sub, gen, None) & ~_match(stripped, gen, None)  # viable only with the prefix
        strip_it = matched & ~stays
        lens = pc.utf8_length(stripped).to_numpy(zero_copy_only=False)
        bad = {ValidationResult.TOO_SHORT, ValidationResult.IS_POSSIBLE_LOCAL_ONLY, ValidationResult.INVALID_LENGTH}
        for length in np.unique(lens[strip_it]).tolist():
            if _length_result(region, md, length) in bad:
                strip_it[lens == length] = False
        nn = pc.if_else(pa.array(strip_it), stripped, sub)
    nlen = pc.utf8_length(nn).to_numpy(zero_copy_only=False)
    # too long / too short for the parser, or an Italian-style leading zero: the library decides
    good = np.flatnonzero((nlen >= 2) & (nlen <= 17) & ~pc.starts_with(nn, "0").to_numpy(zero_copy_only=False))
    if good.size == 0:
        return [], []
    nn = nn.take(pa.array(good))
    idx = rows[keep[good]]
    f = _fast_valid(cc, nn, idx, pc.binary_join_element_wise("+" + ccs, nn, ""))
    found = [f] if f is not None else []
    invalid = np.ones(good.size, bool)
    if f is not None:
        invalid[np.searchsorted(idx, f.idx)] = False
    bad_i = np.flatnonzero(invalid)
    if bad_i.size == 0:
        return found, []
    reasons = np.array([_invalid_reason(cc, v) for v in nn.take(pa.array(bad_i)).to_pylist()], object)
    return found, [_Invalid(idx[bad_i], reasons)]


def normalise_column(raw: pa.Array, regions: np.ndarray, norm: Normaliser) -> PhoneColumn:
    """Normalise every cell of ``raw`` with the region of its row (``regions``, ``None`` = none)."""
    if isinstance(raw, pa.ChunkedArray):
        raw = raw.combine_chunks()
    n = len(raw)
    blank = np.ones(n, bool)
    nonempty = np.flatnonzero(pc.utf8_length(raw).to_numpy(zero_copy_only=False))
    found: list[_Found] = []
    invalid: list[_Invalid] = []
    if nonempty.size:
        cells = raw.take(pa.array(nonempty)) if nonempty.size < n else raw
        stripped = strip(cells)
        blank[nonempty] = pc.utf8_length(stripped).to_numpy(zero_copy_only=False) == 0
        c = pc.replace_substring_regex(cells, _FORMATTING_RE, "")
        # per row: "2125550143.0" (repaired first), an apostrophe or tab inside a number (the
        # library rejects it); only cells holding one of these characters need the checks
        repairable = np.zeros(len(cells), bool)
        odd = np.flatnonzero(_match(cells, "[.,'\t]", None))
        if odd.size:
            sub = stripped.take(pa.array(odd))
            repairable[odd] = _match(sub, _REPAIRABLE, None) | _match(
                strip(pc.utf8_ltrim(sub, characters="'")), "['\t]", None)
        plus = pc.match_substring_regex(c, r"^\+[0-9]{4,}$").to_numpy(zero_copy_only=False) & ~repairable
        digits_only = pc.match_substring_regex(c, r"^[0-9]+$").to_numpy(zero_copy_only=False) & ~repairable
        pi = np.flatnonzero(plus)
        if pi.size:
            found += _plus_shapes(c.take(pa.array(pi)) if pi.size < len(c) else c, nonempty[pi])
        sub_regions = regions[nonempty]
        di = np.flatnonzero(digits_only & (sub_regions != None))  # noqa: E711 - elementwise
        if di.size:
            regs = sub_regions[di]
            for r in set(regs.tolist()):
                sel = di[regs == r]
                sub = c.take(pa.array(sel))
                if _meta(r) is not None and _meta(r).cc == 1:
                    found += _nanp_national(sub, nonempty[sel], r)
                else:
                    f, bad = _national_digits(cells.take(pa.array(sel)), sub, nonempty[sel], r)
                    found += f
                    invalid += bad
    e164 = filled(n, None)
    region = filled(n, None)
    zones = filled(n, "")
    reason = filled(n, None)
    done = np.zeros(n, bool)
    for f in found:
        e164[f.idx], region[f.idx], zones[f.idx] = f.e164, f.region, f.zones
        done[f.idx] = True
    for b in invalid:
        reason[b.idx] = b.reason
        done[b.idx] = True
    valid = done.copy()
    for b in invalid:
        valid[b.idx] = False
    rest = np.flatnonzero(~done & ~blank)
    if rest.size:
        for i, value in zip(rest.tolist(), raw.take(pa.array(rest)).to_pylist(), strict=True):
            r = norm(value, regions[i])
            e164[i], reason[i], region[i], zones[i] = r.e164, r.reason, r.region, " ".join(r.zones)
            valid[i] = r.e164 is not None
    return PhoneColumn(e164, reason, region, zones, blank, valid)
