"""Header recognition: which file column holds which lead field.

Names are compared after folding case, accents, spacing and punctuation, and trailing digits
(``Phone 2``, ``phone.1``); ``--map field=column`` overrides. Every phone-like column is kept,
in file order: the first valid number in a row is the lead's phone, the others alternates.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from dialer.errors import InputError

FIELDS = ("phone", "first_name", "last_name", "name", "state", "postal_code", "country", "timezone", "external_id")

# field -> folded header names (see :func:`fold`)
ALIASES: dict[str, set[str]] = {
    "phone": {
        "phone", "phonenumber", "phoneno", "phonenr", "telephone", "telephonenumber", "tel", "telno",
        "telnumber", "mobile", "mobilephone", "mobilenumber", "mobileno", "cell", "cellphone",
        "cellnumber", "cellular", "homephone", "workphone", "businessphone", "officephone",
        "primaryphone", "altphone", "alternatephone", "otherphone", "phone1", "contactnumber",
        "number", "msisdn", "gsm", "dialnumber",
        # Hungarian, German, French, Spanish, Italian, Portuguese, Dutch, Polish, Russian translit
        "telefon", "telefonszam", "mobil", "mobilszam", "telefonnummer", "handy", "mobilnummer",
        "portable", "numerodetelephone", "telefono", "movil", "celular", "cellulare",
        "telemovel", "telefoonnummer", "telefoon", "mobiel", "komorka", "nrtelefonu", "telefonu",
    },
    "first_name": {"firstname", "first", "givenname", "forename", "fname", "keresztnev", "utonev",
                   "vorname", "prenom", "nombre", "nome", "voornaam", "imie"},
    "last_name": {"lastname", "last", "surname", "familyname", "lname", "vezeteknev", "csaladnev",
                  "nachname", "familienname", "nomdefamille", "nomdenaissance", "apellido", "apellidos",
                  "primerapellido", "cognome", "achternaam", "nazwisko"},
    "name": {"name", "fullname", "customername", "contactname", "nev", "teljesnev", "nom", "naam"},
    "state": {"state", "province", "region", "stateprovince", "st", "county", "megye", "bundesland"},
    "postal_code": {"zip", "zipcode", "postalcode", "postcode", "postal", "plz", "iranyitoszam",
                    "irsz", "codepostal", "cp", "cap", "kodpocztowy"},
    "country": {"country", "countrycode", "nation", "orszag", "land", "pays", "pais", "paese", "kraj"},
    "timezone": {"timezone", "tz", "zone", "timezonename", "idozona", "zeitzone"},
    "external_id": {"customerid", "externalid", "id", "customerno", "customernumber", "clientid",
                    "accountid", "accountnumber", "crmid", "leadid", "contactid", "ugyfelazonosito",
                    "azonosito", "kundennummer", "ref", "reference"},
}
_LOOKUP = {alias: f for f, aliases in ALIASES.items() for alias in aliases}
#: Headers that mean the surname beside a first-name column and the full name alone: French
#: ``Prénom;Nom``, German ``Vorname;Name``, Dutch ``Voornaam;Naam``.
SURNAME_BESIDE_FIRST = frozenset({"nom", "name", "naam"})


def fold(name: str) -> str:
    """``"Phone Number #2"`` → ``"phonenumber"``: lower case, no accents/punctuation/trailing digits."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"[^a-z0-9]", "", text)
    return text.rstrip("0123456789") or text


@dataclass
class ColumnMap:
    """Columns of the file for each field; ``phones`` in priority order; the rest go to ``custom``."""

    phones: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)  # field -> column (one per field)
    custom: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"phone": self.phones, **self.fields, "custom": self.custom}


def parse_overrides(items: tuple[str, ...] | list[str]) -> dict[str, list[str]]:
    """``("phone=Tel", "phone=Mobile", "first_name=Vorname")`` → ``{"phone": [...], ...}``."""
    out: dict[str, list[str]] = {}
    for item in items:
        key, sep, column = item.partition("=")
        key = key.strip().lower().replace("-", "_")
        key = {"zip": "postal_code", "postcode": "postal_code", "tz": "timezone", "id": "external_id",
               "time_zone": "timezone", "full_name": "name"}.get(key, key)
        if not sep or not column.strip():
            raise InputError(f"--map {item!r}: expected FIELD=COLUMN")
        if key not in FIELDS:
            raise InputError(f"--map {item!r}: unknown field {key!r} (fields: {', '.join(FIELDS)})")
        out.setdefault(key, []).append(column.strip())
    return out


def map_columns(columns: list[str], overrides: dict[str, list[str]] | None = None) -> ColumnMap:
    """Recognise lead fields among ``columns`` (the file's header)."""
    overrides = overrides or {}
    cmap = ColumnMap()
    used: set[str] = set()
    by_name = {c.strip().lower(): c for c in columns}
    for key, names in overrides.items():
        for name in names:
            col = name if name in columns else by_name.get(name.strip().lower())
            if col is None:
                raise InputError(f"--map {key}={name}: no column {name!r} in the file (columns: {', '.join(columns)})")
            if key == "phone":
                cmap.phones.append(col)
            else:
                cmap.fields[key] = col
            used.add(col)
    for col in columns:
        if col in used:
            continue
        f = _LOOKUP.get(fold(col))
        if f is None:
            cmap.custom.append(col)
        elif f == "phone":
            if "phone" in overrides:
                cmap.custom.append(col)
            else:
                cmap.phones.append(col)
        elif f in cmap.fields or f in overrides:
            cmap.custom.append(col)
        else:
            cmap.fields[f] = col
    name = cmap.fields.get("name")
    if (name is not None and "name" not in overrides and "first_name" in cmap.fields
            and "last_name" not in cmap.fields and fold(name) in SURNAME_BESIDE_FIRST):
        cmap.fields["last_name"] = cmap.fields.pop("name")
    return cmap
