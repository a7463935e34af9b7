"""Time zones of a lead: an explicit IANA name, else the number's zones narrowed by state / ZIP.

Zone names follow phonenumbers' vocabulary (``America/New_York`` for all of Eastern time,
``America/Boise`` for Mountain Idaho/Oregon ...), so that narrowing is a set intersection.
When the number's zones and the address's zones do not meet (a mobile number from another
state), both are kept: calling windows use every candidate, which is the safe side.
"""

from __future__ import annotations

import zoneinfo
from functools import lru_cache

from dialer.vocabulary import US_STATE_NAMES

NY, CHI, DEN, LA, PHX, BOI = (
    "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
    "America/Phoenix", "America/Boise",
)
ALASKA = ("America/Anchorage", "America/Juneau", "America/Sitka", "America/Nome", "America/Yakutat",
          "America/Metlakatla", "America/Adak")

# US states and territories → zones (every zone a part of the state uses).
US_STATES: dict[str, tuple[str, ...]] = {
    "AL": (CHI,), "AK": ALASKA, "AZ": (PHX, DEN), "AR": (CHI,), "CA": (LA,), "CO": (DEN,),
    "CT": (NY,), "DE": (NY,), "DC": (NY,), "FL": (NY, CHI), "GA": (NY,), "HI": ("Pacific/Honolulu",),
    "ID": (BOI, LA), "IL": (CHI,), "IN": (NY, CHI), "IA": (CHI,), "KS": (CHI, DEN), "KY": (NY, CHI),
    "LA": (CHI,), "ME": (NY,), "MD": (NY,), "MA": (NY,), "MI": (NY, CHI), "MN": (CHI,),
    "MS": (CHI,), "MO": (CHI,), "MT": (DEN,), "NE": (CHI, DEN), "NV": (LA, DEN), "NH": (NY,),
    "NJ": (NY,), "NM": (DEN,), "NY": (NY,), "NC": (NY,), "ND": (CHI, DEN, "America/North_Dakota/Center"),
    "OH": (NY,), "OK": (CHI,), "OR": (LA, BOI), "PA": (NY,), "RI": (NY,), "SC": (NY,),
    "SD": (CHI, DEN), "TN": (NY, CHI), "TX": (CHI, DEN), "UT": (DEN,), "VT": (NY,), "VA": (NY,),
    "WA": (LA,), "WV": (NY,), "WI": (CHI,), "WY": (DEN,),
    "PR": ("America/Puerto_Rico",), "VI": ("America/St_Thomas",), "GU": ("Pacific/Guam",),
    "AS": ("Pacific/Pago_Pago",), "MP": ("Pacific/Saipan",),
}
# ZIP3 ranges → state (first three digits of a US ZIP code).
_ZIP3: list[tuple[int, int, str]] = [
    (5, 5, "NY"), (6, 9, "PR"), (10, 27, "MA"), (28, 29, "RI"), (30, 38, "NH"), (39, 49, "ME"),
    (50, 54, "VT"), (55, 55, "MA"), (56, 59, "VT"), (60, 69, "CT"), (70, 89, "NJ"), (100, 149, "NY"),
    (150, 196, "PA"), (197, 199, "DE"), (200, 205, "DC"), (206, 219, "MD"), (220, 246, "VA"),
    (247, 268, "WV"), (270, 289, "NC"), (290, 299, "SC"), (300, 319, "GA"), (320, 349, "FL"),
    (350, 369, "AL"), (370, 385, "TN"), (386, 397, "MS"), (398, 399, "GA"), (400, 427, "KY"),
    (430, 459, "OH"), (460, 479, "IN"), (480, 499, "MI"), (500, 528, "IA"), (530, 549, "WI"),
    (550, 567, "MN"), (569, 569, "DC"), (570, 577, "SD"), (580, 588, "ND"), (590, 599, "MT"),
    (600, 629, "IL"), (630, 658, "MO"), (660, 679, "KS"), (680, 693, "NE"), (700, 714, "LA"),
    (716, 729, "AR"), (730, 749, "OK"), (750, 799, "TX"), (800, 816, "CO"), (820, 831, "WY"),
    (832, 838, "ID"), (840, 847, "UT"), (850, 865, "AZ"), (870, 884, "NM"), (885, 885, "TX"),
    (889, 898, "NV"), (900, 961, "CA"), (967, 968, "HI"), (969, 969, "GU"), (970, 979, "OR"),
    (980, 994, "WA"), (995, 999, "AK"),
]
# ZIP3 areas of split states that lie wholly in one zone.
_ZIP3_ZONE: dict[int, tuple[str, ...]] = {
    324: (CHI,), 325: (CHI,),  # Florida panhandle west of the Apalachicola
    798: (DEN,), 799: (DEN,), 885: (DEN,),  # El Paso
    373: (NY,), 374: (NY,), 376: (NY,), 377: (NY,), 378: (NY,), 379: (NY,),  # East Tennessee
    370: (CHI,), 371: (CHI,), 372: (CHI,), 380: (CHI,), 381: (CHI,), 382: (CHI,), 383: (CHI,), 384: (CHI,), 385: (CHI,),
    838: (LA,),  # Idaho panhandle
}
CA_PROVINCES: dict[str, tuple[str, ...]] = {
    "BC": ("America/Vancouver", "America/Edmonton", "America/Fort_Nelson"), "AB": ("America/Edmonton",),
    "SK": ("America/Regina",), "MB": ("America/Winnipeg",), "ON": ("America/Toronto", "America/Winnipeg"),
    "QC": ("America/Toronto", "America/Halifax"), "NB": ("America/Halifax",), "NS": ("America/Halifax",),
    "PE": ("America/Halifax",), "NL": ("America/St_Johns", "America/Halifax"), "YT": ("America/Whitehorse",),
    "NT": ("America/Edmonton",), "NU": ("America/Winnipeg", "America/Toronto", "America/Edmonton"),
}
# Common abbreviations people put in a "time zone" column.
TZ_ALIASES = {
    "EST": NY, "EDT": NY, "ET": NY, "EASTERN": NY, "CST": CHI, "CDT": CHI, "CT": CHI, "CENTRAL": CHI,
    "MST": DEN, "MDT": DEN, "MT": DEN, "MOUNTAIN": DEN, "PST": LA, "PDT": LA, "PT": LA, "PACIFIC": LA,
    "AKST": "America/Anchorage", "HST": "Pacific/Honolulu", "UTC": "UTC", "GMT": "UTC",
}


@lru_cache(maxsize=1)
def _iana() -> dict[str, str]:
    return {z.lower(): z for z in zoneinfo.available_timezones()}


def parse_zones(value: str) -> tuple[str, ...]:
    """Valid IANA zones named in ``value`` (space/comma separated, aliases like ``EST`` accepted)."""
    out: list[str] = []
    for token in value.replace(",", " ").replace(";", " ").split():
        zone = TZ_ALIASES.get(token.upper()) or _iana().get(token.lower())
        if zone and zone not in out:
            out.append(zone)
    return tuple(out)


def us_state_code(state: str) -> str | None:
    s = state.strip()
    if len(s) == 2 and s.upper() in US_STATES:
        return s.upper()
    return US_STATE_NAMES.get(s.lower())


def _zip_zones(postal: str) -> tuple[str, ...]:
    digits = postal.strip()[:5]
    if len(digits) == 4 and digits.isdigit():
        digits = "0" + digits  # a spreadsheet dropped the leading zero (New England)
    if len(digits) < 3 or not digits[:3].isdigit():
        return ()
    z3 = int(digits[:3])
    if z3 in _ZIP3_ZONE:
        return _ZIP3_ZONE[z3]
    for lo, hi, st in _ZIP3:
        if lo <= z3 <= hi:
            return US_STATES[st]
    return ()


def location_zones(region: str | None, state: str, postal: str) -> tuple[str, ...]:
    """Zones implied by a state / province / ZIP code in the number's country, or ``()``."""
    if region == "US" or region in ("PR", "VI", "GU", "AS", "MP"):
        z = _zip_zones(postal) if postal else ()
        if z:
            return z
        code = us_state_code(state) if state else None
        return US_STATES.get(code, ()) if code else ()
    if region == "CA" and state:
        return CA_PROVINCES.get(state.strip().upper(), ())
    return ()


@lru_cache(maxsize=65536)
def narrow(zones: tuple[str, ...], region: str | None, state: str = "", postal: str = "") -> tuple[str, ...]:
    """Narrow the number's candidate zones by the lead's address.

    Intersection when the two agree somewhere; otherwise the union (both stay candidates).
    """
    loc = location_zones(region, state, postal) if (state or postal) else ()
    if not loc:
        return zones
    if not zones:
        return loc
    both = tuple(z for z in zones if z in loc)
    if both:
        return both
    return zones + tuple(z for z in loc if z not in zones)


_LEAD_ZONES: dict[tuple, str] = {}


def lead_zones(explicit: str, zones: tuple[str, ...], region: str | None, state: str, postal: str) -> str:
    """The ``leads.timezones`` value: explicit IANA zones when valid, else narrowed number zones."""
    if explicit:
        given = parse_zones(explicit)
        if given:
            return " ".join(given)
    # Only a ZIP's first three digits matter (a 4-digit ZIP lost its leading zero).
    zkey = ("0" + postal if len(postal) == 4 else postal)[:3]
    key = (zones, region, state, zkey)
    hit = _LEAD_ZONES.get(key)
    if hit is None:
        if len(_LEAD_ZONES) > 100_000:
            _LEAD_ZONES.clear()
        hit = _LEAD_ZONES[key] = " ".join(narrow(zones, region, state, zkey + "00" if len(zkey) == 3 else postal))
    return hit
