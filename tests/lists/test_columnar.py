"""The columnar transform and phone normalisation give exactly what the per-row code gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import phonenumbers
import pyarrow as pa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lists.columnar import transform_columns
from lists.columns import map_columns
from lists.phone_columns import _vec, normalise_column
from lists.phones import Normaliser, slow_normalise
from lists.record import Spec
from lists.transform import transform

REGIONS = ["US", "CA", "GB", "HU", "RU", "DE", "FR", "IT", "MX", "BR", "IN", "JP", "AU", "PR", "JM", "KZ", "EG",
           "SA", "AR", "NL", "CH", "AT", "SE", "PL"]
_FORMATS = [phonenumbers.PhoneNumberFormat.E164, phonenumbers.PhoneNumberFormat.INTERNATIONAL,
            phonenumbers.PhoneNumberFormat.NATIONAL]
_TYPES = [phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE,
          phonenumbers.PhoneNumberType.TOLL_FREE, phonenumbers.PhoneNumberType.VOIP]
SEPARATORS = st.sampled_from(["", " ", "-", ".", "/", "(", ")", "\u00a0", "'", "\t"])


@st.composite
def phone_cells(draw: st.DrawFn) -> str:
    """Numbers in every shape an export holds: valid, almost valid, national, damaged, junk."""
    region = draw(st.sampled_from(REGIONS))
    kind = draw(st.sampled_from(["example", "example", "digits", "plus", "idd", "sci", "float", "junk", "blank"]))
    if kind == "example":
        ex = phonenumbers.example_number_for_type(region, draw(st.sampled_from(_TYPES)))
        text = phonenumbers.format_number(ex, draw(st.sampled_from(_FORMATS))) if ex else "12"
        tail = draw(st.text("0123456789", max_size=3))
        return text[: len(text) - len(tail)] + tail
    if kind == "digits":
        groups = draw(st.lists(st.text("0123456789", min_size=1, max_size=5), min_size=1, max_size=4))
        sep = draw(SEPARATORS)
        return sep.join(groups)
    if kind == "plus":
        return f"+{phonenumbers.country_code_for_region(region)}{draw(SEPARATORS)}" + draw(
            st.text("0123456789 -()", min_size=1, max_size=13))
    if kind == "idd":
        return f"00{phonenumbers.country_code_for_region(region)} " + draw(st.text("0123456789 ", min_size=1, max_size=12))
    if kind == "sci":
        digits = draw(st.text("0123456789", min_size=8, max_size=12))
        return f"{digits[0]}.{digits[1:]}E{len(digits) - 1 - draw(st.integers(0, 2))}"
    if kind == "float":
        return draw(st.text("0123456789", min_size=6, max_size=12)) + ".0"
    if kind == "junk":
        return draw(st.sampled_from(["n/a", "abc-defg", "tbd", "-", "=1+2", "+", "555-0100", "+999 1234"]))
    return draw(st.sampled_from(["", " ", "\u00a0", "\t", "\u3000"]))


CELL = st.text(alphabet="abcÉü ñ,;\"'\\\n\t\x01\x1c\u00a0\u3000=+-@{}:", max_size=10)
COUNTRY = st.sampled_from(["", "US", "usa", "Hungary", "HU", "+36", "GB", "uk", "RU", "MX", "xx", " de ", "Narnia"])
STATE = st.sampled_from(["", "NY", "ca", "Texas", " AZ ", "ON", "QC", "zz", "\u00a0HI"])
ZIP = st.sampled_from(["", "10012", "2125", "90210-1234", "885", "79901", "8", "abc", " 30301 "])
TZ = st.sampled_from(["", "EST", "Europe/Paris", "pst, America/Chicago", "nonsense", " utc "])

HEADERS = ["Phone", "Mobile", "Work Phone", "First Name", "Last Name", "Full Name", "State", "Zip", "Country",
           "Time Zone", "Customer ID", "Notes", "Plan"]


@st.composite
def chunks(draw: st.DrawFn) -> tuple[list[str], dict[str, list[str]]]:
    n = draw(st.integers(1, 25))
    headers = [h for h in HEADERS if h in ("Phone", "Mobile") or draw(st.booleans())]
    gen = {"Phone": phone_cells(), "Mobile": phone_cells(), "Work Phone": phone_cells(), "State": STATE,
           "Zip": ZIP, "Country": COUNTRY, "Time Zone": TZ}
    data = {h: [draw(gen.get(h, CELL)) for _ in range(n)] for h in headers}
    if draw(st.booleans()):  # some all-blank rows
        for i in draw(st.lists(st.integers(0, n - 1), max_size=3)):
            for h in headers:
                data[h][i] = draw(st.sampled_from(["", " "]))
    return headers, data


def _compare(spec: Spec, frame: pd.DataFrame) -> None:
    rownums = list(range(2, len(frame) + 2))
    got = transform_columns(spec, frame, rownums)
    ref = transform(spec, [frame[c].tolist() for c in frame.columns], rownums)
    for i, primary, extra, record in ref:
        assert got.primary[i] == primary, (i, frame.iloc[i].tolist())
        if primary is None:
            assert got.reason[i] == extra, (i, frame.iloc[i].tolist())
        else:
            assert got.reason[i] is None
            assert got.alts.get(i, []) == extra
            assert tuple(col[i] for col in got.records) == record


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(chunks(), st.sampled_from([None, "US", "HU", "GB"]), st.booleans())
def test_columnar_transform_equals_the_per_row_transform(case: tuple, region: str | None, as_object: bool) -> None:
    headers, data = case
    frame = pd.DataFrame(data, dtype=object if as_object else str)
    spec = Spec(tuple(headers), map_columns(headers), region)
    _compare(spec, frame)


def test_columnar_transform_on_a_realistic_chunk() -> None:
    rows = [
        ["(212) 555-0143", "+1 917 555 0199", "Mary", "O'Neil", "NY", "10012", "US", 'said "hi"\nthen left'],
        ["06 30 123 4567", "", "Gábor", "Kovács", "", "", "HU", ""],
        ["8 (912) 345-67-89", "212-555-0143", "Ivan", "Petrov", "", "", "RU", "x"],
        ["1.2125550143E10", "", "Sam", "Lee", "CA", "90210", "US", ""],
        ["2125550143.0", "", "", "", "", "", "", ""],
        ["", "", "", "", "", "", "", ""],
        ["abc-defg", "", "Pat", "", "TX", "79901", "US", ""],
        ["+44 20 7946 0958", "+44 20 7946 0958", "Jo", "", "", "", "GB", ""],
    ]
    headers = ["Phone Number", "Mobile", "First Name", "Last Name", "State", "Zip", "Country", "Notes"]
    frame = pd.DataFrame(rows, columns=headers, dtype=str)
    _compare(Spec(tuple(headers), map_columns(headers), "US"), frame)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(phone_cells(), st.sampled_from([None, *REGIONS])), min_size=1, max_size=40))
@example([("06 30 123 4567", "HU"), ("8 (912) 345-67-89", "RU"), ("(212) 555-0143", "GB"), ("0501234567", "SA")])
@example([("+1 212 555 0143", "US"), ("12125550143", "US"), ("1.2125550143E10", "US"), ("2125550143.0", "US")])
@example([("+36'200000000", None), ("212\t555 0143", "US"), ("'+1 212 555 0143", "US"), ("2.00000000E8", "GB")])
def test_normalise_column_equals_the_normaliser_and_the_library(cells: list[tuple[str, str | None]]) -> None:
    raws = [c for c, _r in cells]
    regions = np.array([r for _c, r in cells], object)
    col = normalise_column(pa.array(raws, pa.string()), regions, Normaliser())
    for i, (raw, region) in enumerate(cells):
        if not raw.strip():
            assert col.blank[i] and col.e164[i] is None and col.reason[i] is None
            continue
        ref = slow_normalise(raw, region)
        assert not col.blank[i]
        assert (col.e164[i], col.reason[i], col.region[i], col.zones[i]) == (
            ref.e164, ref.reason, ref.region, " ".join(ref.zones)), (raw, region)


def test_every_region_compiles_for_the_vectorised_path() -> None:
    """pyarrow's RE2 accepts every metadata pattern; example numbers classify like the library."""
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        vm = _vec(region)
        examples = [phonenumbers.example_number_for_type(region, t) for t in _TYPES]
        nsns = [str(e.national_number) for e in examples if e is not None and not e.italian_leading_zero]
        if not nsns:
            continue
        types = vm.number_types(pa.array(nsns, pa.string()))
        md = phonenumbers.PhoneMetadata.metadata_for_region(region)
        for nsn, t in zip(nsns, types.tolist(), strict=True):
            assert t == phonenumbers.phonenumberutil._number_type_helper(nsn, md), (region, nsn)


def test_py_whitespace_is_what_str_strip_removes() -> None:
    from lists.phone_columns import PY_WHITESPACE

    assert "".join(chr(c) for c in range(0x110000) if chr(c).isspace()) == PY_WHITESPACE


def test_zone_lookup_by_head_equals_the_lookup_length_by_length() -> None:
    """Every prefix of the library's zone table, cut short or followed by more digits: the
    grouped lookup gives what the plain longest-prefix lookup gives."""
    from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

    from lists.phone_columns import _zones_lookup_column, _zones_lookup_long

    rng = np.random.default_rng(7)
    values = []
    for key in TIMEZONE_DATA:
        values += [key, key[:-1] or key, key + "".join(map(str, rng.integers(0, 10, 8)))]
    digits = pa.array(values, pa.string())
    for maxlen in (TIMEZONE_LONGEST_PREFIX, 7, 5, 4, 2):
        assert _zones_lookup_column(digits, maxlen).tolist() == _zones_lookup_long(digits, maxlen).tolist()
