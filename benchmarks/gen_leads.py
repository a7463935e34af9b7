"""Generate a realistic lead file for the import benchmark.

    .venv/bin/python benchmarks/gen_leads.py [--rows 1000000] [--out benchmarks/data/leads-1m.csv]

Columns like a CRM export: customer id, names, a primary phone in mixed formats, a mobile
column filled for a third of the rows, state, ZIP, country, plan, e-mail, notes. About 90 % of
the rows are US numbers, the rest from a few other countries; ~2 % are duplicates, ~1 % are
invalid, a few are spreadsheet-mangled (``1.2125550143E10``). Deterministic for a given seed.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

# (state, area codes) — real NANP area codes, so numbers validate and zones narrow by state.
US_AREAS = {
    "NY": [212, 718, 917, 347, 516, 631, 914, 585, 716],
    "CA": [213, 310, 415, 510, 619, 714, 818, 916, 408],
    "TX": [214, 281, 512, 713, 817, 915, 210, 469],
    "FL": [305, 407, 561, 727, 813, 904, 954, 850],
    "IL": [312, 773, 847, 630, 217],
    "WA": [206, 253, 425, 509],
    "AZ": [480, 520, 602, 623, 928],
    "HI": [808],
    "GA": [404, 470, 678, 770, 912],
    "MA": [617, 508, 781, 978],
    "CO": [303, 719, 720, 970],
    "IN": [317, 219, 812],
}
ZIP3 = {"NY": 100, "CA": 900, "TX": 750, "FL": 330, "IL": 606, "WA": 980, "AZ": 850,
        "HI": 967, "GA": 303, "MA": 21, "CO": 802, "IN": 462}
FIRST = ["Mary", "John", "José", "Anna", "Ahmed", "Li", "Fatima", "Ivan", "Sam", "Dana", "Chris",
         "Pat", "Jo", "Max", "Ann", "Zoë", "Gábor", "Éva", "Noah", "Olivia", "Liam", "Emma"]
LAST = ["Smith", "O'Neil", "Núñez", "Kovács", "Petrov", "Lee", "Jones", "Brown", "Müller",
        "Taylor", "Garcia", "Nguyen", "Kim", "Patel", "Johnson", "Williams"]
PLANS = ["Basic 20", "Home 50", "Home 100", "Pro", "Mobil S", "Tariff M"]
NOTES = ["", "", "", "prefers evenings", "call after 6pm", "asked about, pricing",
         'said "maybe later"', "moved from another provider", "line one\nline two"]


def _us_numbers(rng: np.random.Generator, n: int) -> tuple[list[str], list[str], list[str]]:
    states = list(US_AREAS)
    st_idx = rng.integers(0, len(states), n)
    exch = rng.integers(200, 1000, n)
    exch = np.where(exch % 100 == 11, exch + 1, exch)  # no N11 exchanges
    line = rng.integers(0, 10000, n)
    fmt = rng.integers(0, 6, n)
    phones, st, zips = [], [], []
    pick = rng.random(n)
    zip_tail = rng.integers(0, 100, n)
    for i in range(n):
        s = states[st_idx[i]]
        areas = US_AREAS[s]
        a = areas[int(pick[i] * len(areas))]
        e, ln = int(exch[i]), int(line[i])
        f = fmt[i]
        if f == 0:
            p = f"({a}) {e}-{ln:04d}"
        elif f == 1:
            p = f"{a}-{e}-{ln:04d}"
        elif f == 2:
            p = f"+1 {a} {e} {ln:04d}"
        elif f == 3:
            p = f"+1{a}{e}{ln:04d}"
        elif f == 4:
            p = f"{a}.{e}.{ln:04d}"
        else:
            p = f"1{a}{e}{ln:04d}"
        phones.append(p)
        st.append(s)
        zips.append(f"{ZIP3[s]:03d}{int(zip_tail[i]):02d}")
    return phones, st, zips


INTL = [  # (country, formatter)
    ("GB", lambda r: f"+44 20 7{r.integers(100, 999)} {r.integers(1000, 9999)}"),
    ("HU", lambda r: f"06 30 {r.integers(100, 999)} {r.integers(1000, 9999)}"),
    ("DE", lambda r: f"+49 30 {r.integers(1000000, 9999999)}"),
    ("RU", lambda r: f"8 (912) {r.integers(100, 999)}-{r.integers(10, 99)}-{r.integers(10, 99)}"),
    ("MX", lambda r: f"+52 55 {r.integers(1000, 9999)} {r.integers(1000, 9999)}"),
]
BAD = ["555-0100", "abc-defg", "n/a", "12", "000", "+1 000 000 0000", "tbd"]


def generate(out: Path, rows: int, seed: int = 42) -> Path:
    rng = np.random.default_rng(seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    us_phones, us_states, us_zips = _us_numbers(rng, rows)
    mobiles, _, _ = _us_numbers(rng, rows)
    kind = rng.random(rows)
    has_mobile = rng.random(rows) < 0.33
    firsts = rng.integers(0, len(FIRST), rows)
    lasts = rng.integers(0, len(LAST), rows)
    plans = rng.integers(0, len(PLANS), rows)
    notes = rng.integers(0, len(NOTES), rows)
    with out.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Customer ID", "First Name", "Last Name", "Phone Number", "Mobile", "State",
                    "Zip", "Country", "Email", "Current Plan", "Notes"])
        for i in range(rows):
            k = kind[i]
            phone, state, zipc, country = us_phones[i], us_states[i], us_zips[i], "US"
            if k < 0.06:  # international
                country, fmt = INTL[int(k / 0.06 * len(INTL))]
                phone, state, zipc = fmt(rng), "", ""
            elif k < 0.07:  # invalid
                phone = BAD[i % len(BAD)]
            elif k < 0.09 and i > 0:  # duplicate of an earlier row
                phone = us_phones[int(rng.integers(0, i))]
            elif k < 0.092:  # mangled by a spreadsheet
                digits = "1" + "".join(ch for ch in phone if ch.isdigit())[-10:]
                phone = f"{digits[0]}.{digits[1:]}E{len(digits) - 1}"
            first, last = FIRST[firsts[i]], LAST[lasts[i]]
            w.writerow([f"C-{i + 1:07d}", first, last, phone, mobiles[i] if has_mobile[i] else "",
                        state, zipc, country, f"{first.lower()}.{i}@example.com",
                        PLANS[plans[i]], NOTES[notes[i]]])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "data" / "leads-1m.csv")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    path = generate(args.out, args.rows, args.seed)
    print(f"wrote {args.rows} rows to {path} ({path.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
