"""Phone number normalisation to E.164 with phonenumbers, plus the time zones of a number.

:func:`normalise` is the one-call API::

    >>> normalise("(212) 555-0143", "US")
    Normalised(e164='+12125550143', reason=None, region='US', zones=('America/New_York',))
    >>> normalise("1234", "HU").reason
    'too_short'

Reasons for a number that cannot be used (see :data:`REASONS`): ``no_phone``, ``not_a_number``,
``too_short``, ``too_long``, ``invalid_country_code``, ``no_region``, ``mangled_number``,
``invalid_number``.

Speed: ``phonenumbers.parse`` + ``is_valid_number`` + time zones cost ~60 µs a number, too slow
for million-row files. :class:`Normaliser` caches by (raw string, region) and has a fast path for
the common shapes (``+`` and digits; a NANP national number) that applies phonenumbers' own
metadata regular expressions, precompiled, in the same order as ``phonenumbers`` does; anything
else, and every number the fast path does not accept as valid, goes the slow (library) way. A
property test checks both paths agree.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType, ValidationResult
from phonenumbers import timezone as pn_timezone
from phonenumbers.phonemetadata import PhoneMetadata
from phonenumbers.phonenumberutil import _GEO_MOBILE_COUNTRIES, COUNTRY_CODE_TO_REGION_CODE
from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

REASONS = {
    "no_phone": "no phone number in the row",
    "not_a_number": "the value is not a phone number",
    "too_short": "too short (e.g. no area code)",
    "too_long": "too long",
    "invalid_country_code": "unknown country calling code",
    "no_region": "a national number but no country (use --region or a country column)",
    "mangled_number": "spreadsheet scientific notation that lost digits",
    "invalid_number": "not a valid number for its country",
}

UNKNOWN_ZONE = "Etc/Unknown"


class Normalised(NamedTuple):
    e164: str | None
    reason: str | None
    region: str | None = None  # ISO 3166 alpha-2 of the number ("001" for non-geographic)
    zones: tuple[str, ...] = ()  # candidate IANA zones from phonenumbers' data


_SCI = re.compile(r"^\+?(\d)(?:[.,](\d+))?[eE]\+?(\d{1,2})$")
_FLOAT = re.compile(r"^(\+?\d{6,17})[.,]0+$")


def repair_spreadsheet(raw: str) -> str | None:
    """Undo spreadsheet damage: ``1.2125550143E10`` → ``12125550143``, ``2125550143.0`` → ``2125550143``.

    Returns the repaired digits, ``""`` when the value is scientific notation that lost digits
    (ambiguous), or ``None`` when the value does not look spreadsheet-mangled.
    """
    m = _FLOAT.match(raw)
    if m:
        return m.group(1)
    m = _SCI.match(raw)
    if not m:
        return None
    head, frac, exp = m.group(1), m.group(2) or "", int(m.group(3))
    if len(frac) > exp:
        return ""  # not an integer: not a phone number we can trust
    try:
        value = Decimal(f"{head}.{frac}e{exp}")
    except InvalidOperation:  # pragma: no cover - the regex only admits valid decimals
        return ""
    digits = format(value, "f")
    significant = (head + frac).rstrip("0")
    # Digits beyond the mantissa were filled with zeros by the spreadsheet: ambiguous.
    if len(head + frac) < len(digits) and len(significant) < len(digits):
        return ""
    return digits


_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "invalid_country_code",
    NumberParseException.NOT_A_NUMBER: "not_a_number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too_short",
    NumberParseException.TOO_SHORT_NSN: "too_short",
    NumberParseException.TOO_LONG: "too_long",
}
_POSSIBLE_REASONS = {
    ValidationResult.TOO_SHORT: "too_short",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "too_short",  # a local number without area code
    ValidationResult.TOO_LONG: "too_long",
    ValidationResult.INVALID_COUNTRY_CODE: "invalid_country_code",
}


def _zones_lookup(digits: str) -> tuple[str, ...]:
    """Longest-prefix match in phonenumbers' time zone table (``digits`` without ``+``)."""
    for n in range(min(TIMEZONE_LONGEST_PREFIX, len(digits)), 0, -1):
        z = TIMEZONE_DATA.get(digits[:n])
        if z is not None:
            return z
    return ()


# Longest key length in the zone table per first digit: lookups start there, and results are
# cached by that prefix (the answer depends on nothing else).
_TZ_MAXLEN: dict[str, int] = {}
for _k in TIMEZONE_DATA:
    _TZ_MAXLEN[_k[0]] = max(_TZ_MAXLEN.get(_k[0], 0), len(_k))
_ZONES_CACHE: dict[str, tuple[str, ...]] = {}


def _clean_zones(zones: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(z for z in zones if z != UNKNOWN_ZONE)


def slow_normalise(raw: str, region: str | None) -> Normalised:
    """Normalise with the phonenumbers library only (the reference for the fast path)."""
    text = raw.strip()
    if not text:
        return Normalised(None, "no_phone")
    repaired = repair_spreadsheet(text)
    if repaired == "":
        return Normalised(None, "mangled_number")
    if repaired is not None:
        text = repaired
    if not any(ch.isdigit() for ch in text):
        return Normalised(None, "not_a_number")
    try:
        num = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE and not region and not text.lstrip().startswith(("+", "00")):
            return Normalised(None, "no_region")
        return Normalised(None, _PARSE_REASONS.get(exc.error_type, "invalid_number"))
    if not phonenumbers.is_valid_number(num):
        reason = _POSSIBLE_REASONS.get(phonenumbers.is_possible_number_with_reason(num), "invalid_number")
        return Normalised(None, reason)
    e164 = phonenumbers.format_number(num, PhoneNumberFormat.E164)
    zones = _clean_zones(pn_timezone.time_zones_for_number(num))
    return Normalised(e164, None, phonenumbers.region_code_for_number(num), zones)


# --- fast path -------------------------------------------------------------------------------

_TYPE_ORDER = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan", "voicemail")
_GEO_TYPES = {PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
UNKNOWN, MOBILE = PhoneNumberType.UNKNOWN, PhoneNumberType.MOBILE
_FORMATTING = str.maketrans("", "", " ()-./'\t\u00a0")  # ' : a spreadsheet-safe prefix


class _Desc:
    __slots__ = ("lengths", "rx")

    def __init__(self, desc) -> None:
        self.lengths = frozenset(desc.possible_length or ())
        self.rx = re.compile(desc.national_number_pattern) if desc.national_number_pattern else None

    def matches(self, nsn: str) -> bool:
        if self.lengths and len(nsn) not in self.lengths:
            return False
        return self.rx is not None and self.rx.fullmatch(nsn) is not None


def _length_guard(lengths: tuple[int, ...] | list[int] | None) -> str | None:
    """A lookahead admitting only ``lengths`` digits; ``""`` when any length goes, ``None`` for none."""
    if not lengths:
        return ""
    ok = sorted({n for n in lengths if n > 0})
    if not ok:
        return None
    return "(?=(?:" + "|".join(f"\\d{{{n}}}" for n in ok) + r")\Z)"


class _Meta:
    """One region's metadata with its regular expressions compiled once.

    :meth:`number_type` gives the same answer as ``phonenumberutil._number_type_helper`` with
    one regular expression: the type patterns in the library's order as alternatives of one
    pattern (``fullmatch`` returns the first alternative that matches the whole number), each
    guarded by its possible lengths, the whole guarded by the general pattern.
    """

    __slots__ = ("general", "combined", "kinds", "mobile", "same_fixed_mobile", "leading", "prefix_for_parsing", "cc")

    def __init__(self, md: PhoneMetadata) -> None:
        self.cc = md.country_code
        self.general = _Desc(md.general_desc)
        self.same_fixed_mobile = bool(md.same_mobile_and_fixed_line_pattern)
        names = [*_TYPE_ORDER, "fixed_line"] + ([] if self.same_fixed_mobile else ["mobile"])
        parts: list[str] = []
        self.kinds: dict[str, str] = {}
        for name in names:
            desc = getattr(md, name)
            if desc is None or not desc.national_number_pattern:
                continue
            group = f"t{len(parts)}"
            guard = _length_guard(desc.possible_length)
            if guard is None:
                continue  # no possible length: the library never matches this type
            parts.append(f"(?P<{group}>{guard}(?:{desc.national_number_pattern}))")
            self.kinds[group] = name
        gen = md.general_desc
        head = _length_guard(gen.possible_length) if gen is not None else None
        body = "|".join(parts)
        self.combined = (
            re.compile(f"{head}(?=(?:{gen.national_number_pattern})\\Z)(?:{body})")
            if parts and gen is not None and gen.national_number_pattern and head is not None else None
        )
        self.mobile = _Desc(md.mobile) if md.mobile is not None else None
        self.leading = re.compile(md.leading_digits) if md.leading_digits else None
        npp = md.national_prefix_for_parsing
        self.prefix_for_parsing = re.compile(npp) if npp else None

    def number_type(self, nsn: str) -> int:
        """The same answer as ``phonenumberutil._number_type_helper``."""
        m = self.combined.fullmatch(nsn) if self.combined is not None else None
        if m is None or m.lastgroup is None:
            return UNKNOWN
        name = self.kinds[m.lastgroup]
        if name == "fixed_line":
            if self.same_fixed_mobile or (self.mobile is not None and self.mobile.matches(nsn)):
                return PhoneNumberType.FIXED_LINE_OR_MOBILE
            return PhoneNumberType.FIXED_LINE
        return getattr(PhoneNumberType, name.upper())


_META: dict[str, _Meta | None] = {}


def _meta(region: str) -> _Meta | None:
    try:
        return _META[region]
    except KeyError:
        md = PhoneMetadata.metadata_for_region(region, None)
        _META[region] = m = _Meta(md) if md is not None else None
        return m


_CC_METAS: dict[int, list[tuple[str, _Meta]] | None] = {}
#: ``_CC_METAS.get(cc, _UNSEEN) is _UNSEEN``: not looked up yet (one dict lookup on the hot path).
_UNSEEN: list[tuple[str, _Meta]] = []
_CC_STRINGS = {str(cc): cc for cc in COUNTRY_CODE_TO_REGION_CODE}
_CC_ZONES: dict[int, tuple[str, ...]] = {}


def _metas_for(cc: int) -> list[tuple[str, _Meta]] | None:
    """The regions sharing country code ``cc``, in the library's order, with compiled metadata."""
    try:
        return _CC_METAS[cc]
    except KeyError:
        regions = COUNTRY_CODE_TO_REGION_CODE.get(cc)
        metas = None
        if regions and regions[0] != "001":
            metas = [(r, m) for r in regions if (m := _meta(r)) is not None] or None
        _CC_METAS[cc] = metas
        return metas


def _fast_valid(cc: int, nsn: str) -> Normalised | None:
    """A valid number's result computed from metadata, or ``None`` (let the library decide)."""
    metas = _CC_METAS.get(cc, _UNSEEN)
    if metas is _UNSEEN:
        metas = _metas_for(cc)
    if metas is None:
        return None
    region = None
    ntype = UNKNOWN
    if len(metas) == 1:
        region, m = metas[0]
        ntype = m.number_type(nsn)
    else:
        for r, m in metas:
            if m.leading is not None:
                if m.leading.match(nsn):
                    region, ntype = r, m.number_type(nsn)
                    break
            else:
                t = m.number_type(nsn)
                if t != UNKNOWN:
                    region, ntype = r, t
                    break
    if ntype == UNKNOWN:
        return None
    digits = f"{cc}{nsn}"
    if ntype in _GEO_TYPES or (ntype == MOBILE and cc in _GEO_MOBILE_COUNTRIES):
        key = digits[:_TZ_MAXLEN.get(digits[0], TIMEZONE_LONGEST_PREFIX)]
        zones = _ZONES_CACHE.get(key)
        if zones is None:
            zones = _ZONES_CACHE[key] = _clean_zones(_zones_lookup(key))
    else:
        zones = _CC_ZONES.get(cc)
        if zones is None:
            zones = _CC_ZONES[cc] = _clean_zones(_zones_lookup(str(cc)))
    return Normalised("+" + digits, None, region, zones)


def fast_normalise(raw: str, region: str | None) -> Normalised | None:
    """The fast path: a result for well-formed valid numbers, ``None`` when unsure."""
    text = raw.strip()
    if text[:1] == "'":  # a spreadsheet-safe prefix (the library skips anything before the number)
        text = text.lstrip("'").strip()
    if "'" in text or "\t" in text:
        return None  # inside a number the library does not accept them
    c = text.translate(_FORMATTING)
    if not c or ("." in text and _FLOAT.match(text)):
        return None  # empty, or spreadsheet damage that the library path repairs first
    if c[0] == "+":
        digits = c[1:]
        if len(digits) < 4 or not (digits.isascii() and digits.isdigit()):
            return None
        cc_str = digits[:1] if digits[:1] in _CC_STRINGS else digits[:2] if digits[:2] in _CC_STRINGS else digits[:3]
        cc = _CC_STRINGS.get(cc_str)
        if cc is None:
            return None
        nsn = digits[len(cc_str):]
        if not nsn or nsn[0] == "0" or len(nsn) > 17:
            return None  # leading zeros (Italian style) or too long: let the library decide
        metas = _CC_METAS.get(cc, _UNSEEN)
        if metas is _UNSEEN:
            metas = _metas_for(cc)
        if metas is None:
            return None
        npp = metas[0][1].prefix_for_parsing
        if npp is not None and npp.match(nsn):
            return None  # a national prefix after the country code: the library strips it
        return _fast_valid(cc, nsn)
    if region is None or not (c.isascii() and c.isdigit()):
        return None
    m = _META.get(region) or _meta(region)
    if m is None or m.cc != 1:
        return None
    if len(c) == 10 and c[0] not in "01":
        return _fast_valid(1, c)
    if len(c) == 11 and c[0] == "1" and c[1] not in "01" and m.general.rx is not None:
        nsn = c[1:]
        if m.general.rx.fullmatch(nsn) and not m.general.rx.fullmatch(c):
            return _fast_valid(1, nsn)
    return None


def medium_normalise(raw: str, region: str | None) -> Normalised | None:
    """The library's parser, then the fast classification (skips ``is_valid_number`` and zones).

    For national formats with trunk prefixes (``06 30 ...``, ``8 (912) ...``) the fast path
    does not try to reproduce; ``None`` when the number is not valid (the slow path says why).
    """
    text = raw.strip()
    if not text or text[0].isalpha() or repair_spreadsheet(text) is not None:
        return None  # spreadsheet damage: repaired first (see Normaliser._repaired)
    try:
        num = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    if num.italian_leading_zero or num.country_code is None:
        return None
    return _fast_valid(num.country_code, str(num.national_number))


class Normaliser:
    """Caching normaliser: ``Normaliser()(raw, region)`` → :class:`Normalised`.

    The fast path is cheaper than a cache that holds every distinct number of a million-row
    file, so only library (slow path) results are cached, by (raw string, region).
    """

    def __init__(self, max_cache: int = 200_000) -> None:
        self.cache: dict[tuple[str, str | None], Normalised] = {}
        self.max_cache = max_cache

    def __call__(self, raw: str, region: str | None) -> Normalised:
        fast = fast_normalise(raw, region)
        if fast is not None:
            return fast
        key = (raw, region)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        result = medium_normalise(raw, region) or self._repaired(raw, region) or slow_normalise(raw, region)
        if len(self.cache) >= self.max_cache:
            self.cache.clear()
        self.cache[key] = result
        return result

    @staticmethod
    def _repaired(raw: str, region: str | None) -> Normalised | None:
        """Spreadsheet damage undone, the digits through the fast paths (``slow_normalise`` of the
        raw value parses exactly these digits, and the fast paths agree with it)."""
        digits = repair_spreadsheet(raw.strip())
        if not digits:
            return None
        return fast_normalise(digits, region) or medium_normalise(digits, region)


_default = Normaliser(max_cache=100_000)


def normalise(raw: str, region: str | None = None) -> Normalised:
    """Normalise one number: E.164, or a reason code when it cannot be used."""
    return _default(raw, region.upper() if region else None)


def to_e164(raw: str, region: str | None = None) -> str | None:
    """The E.164 form of ``raw``, or ``None`` when it is not a valid number."""
    return normalise(raw, region).e164


_COUNTRY_NAMES = {
    "USA": "US", "UNITED STATES": "US", "UNITED STATES OF AMERICA": "US", "AMERICA": "US",
    "UK": "GB", "GBR": "GB", "UNITED KINGDOM": "GB", "GREAT BRITAIN": "GB", "ENGLAND": "GB",
    "CAN": "CA", "CANADA": "CA", "HUN": "HU", "HUNGARY": "HU", "MAGYARORSZAG": "HU", "MAGYARORSZÁG": "HU",
    "DEU": "DE", "GERMANY": "DE", "DEUTSCHLAND": "DE", "FRA": "FR", "FRANCE": "FR", "ESP": "ES",
    "SPAIN": "ES", "ESPAÑA": "ES", "ITA": "IT", "ITALY": "IT", "ITALIA": "IT", "RUS": "RU",
    "RUSSIA": "RU", "RUSSIAN FEDERATION": "RU", "MEX": "MX", "MEXICO": "MX", "MÉXICO": "MX",
    "EGY": "EG", "EGYPT": "EG", "SAU": "SA", "SAUDI ARABIA": "SA", "AUS": "AU", "AUSTRALIA": "AU",
    "AUT": "AT", "AUSTRIA": "AT", "ÖSTERREICH": "AT", "CHE": "CH", "SWITZERLAND": "CH", "NLD": "NL",
    "NETHERLANDS": "NL", "BEL": "BE", "BELGIUM": "BE", "POL": "PL", "POLAND": "PL", "POLSKA": "PL",
    "ROU": "RO", "ROMANIA": "RO", "SVK": "SK", "SLOVAKIA": "SK", "CZE": "CZ", "CZECHIA": "CZ",
    "CZECH REPUBLIC": "CZ", "IRL": "IE", "IRELAND": "IE", "IND": "IN", "INDIA": "IN", "BRA": "BR",
    "BRAZIL": "BR", "BRASIL": "BR", "JPN": "JP", "JAPAN": "JP", "CHN": "CN", "CHINA": "CN",
    "PRT": "PT", "PORTUGAL": "PT", "SWE": "SE", "SWEDEN": "SE", "NOR": "NO", "NORWAY": "NO",
    "DNK": "DK", "DENMARK": "DK", "FIN": "FI", "FINLAND": "FI", "UKR": "UA", "UKRAINE": "UA",
    "TUR": "TR", "TURKEY": "TR", "ARE": "AE", "UNITED ARAB EMIRATES": "AE", "ZAF": "ZA",
    "SOUTH AFRICA": "ZA", "NZL": "NZ", "NEW ZEALAND": "NZ", "PRI": "PR", "PUERTO RICO": "PR",
}


def country_to_region(value: str) -> str | None:
    """A country cell (``US``, ``usa``, ``Hungary``, ``+36``) → ISO alpha-2 region, or ``None``."""
    v = value.strip().upper()
    if not v:
        return None
    if len(v) == 2 and v.isalpha():
        return "GB" if v == "UK" else (v if v in phonenumbers.SUPPORTED_REGIONS else None)
    if v.lstrip("+").isdigit():
        r = phonenumbers.region_code_for_country_code(int(v.lstrip("+")))
        return None if r in ("ZZ", "001") else r
    return _COUNTRY_NAMES.get(v)
