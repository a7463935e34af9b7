"""The pure part of an import, row by row: cells → lead fields, or a rejection reason.

:func:`transform` is the reference: the import runs :func:`lists.columnar.transform_columns`,
which gives the same results over whole columns (a property test compares them). No database
and no shared state beyond caches, so chunks can also be transformed in worker processes
(:class:`lists.transform_pool.TransformPool`, ``--workers N``). De-duplication and DNC need
the whole import's state and stay in the importing process.
"""

from __future__ import annotations

from json.encoder import encode_basestring as _json_str  # C-accelerated, keeps non-ASCII

from lists.record import BLANK, NORMALISER, Row, Spec, region_of, split_name
from lists.timezones import lead_zones


def transform(spec: Spec, cols: list[list[str]], rownums: list[int]) -> list[Row]:
    """Transform one chunk given as column lists (all strings) and the rows' numbers."""
    columns = spec.columns
    idx = {c: i for i, c in enumerate(columns)}
    f = spec.cmap.fields
    phone_ix = [idx[c] for c in spec.cmap.phones]
    get = {k: idx[c] for k, c in f.items()}
    country_i, state_i, postal_i = get.get("country"), get.get("state"), get.get("postal_code")
    tz_i, first_i, last_i, name_i = get.get("timezone"), get.get("first_name"), get.get("last_name"), get.get("name")
    ext_i = get.get("external_id")
    custom = [(_json_str(c) + ": ", idx[c]) for c in spec.cmap.custom]
    norm, default = NORMALISER, spec.region
    out: list[Row] = []
    for i, cells in enumerate(zip(*cols, strict=True)):
        primary = None
        alts: list[str] = []
        reason = None
        region = region_of(cells[country_i], default) if country_i is not None else default
        zones: tuple[str, ...] = ()
        num_region = None
        for pi in phone_ix:
            raw = cells[pi]
            if not raw or raw.isspace():
                continue
            n = norm(raw, region)
            if n.e164 is None:
                if reason is None:
                    reason = n.reason
            elif primary is None:
                primary, zones, num_region = n.e164, n.zones, n.region
            elif n.e164 != primary and n.e164 not in alts:
                alts.append(n.e164)
        if primary is None:
            if reason is None:
                reason = "no_phone" if any(c and not c.isspace() for c in cells) else BLANK
            out.append((i, None, reason, None))
            continue
        state = cells[state_i].strip() if state_i is not None else ""
        postal = cells[postal_i].strip() if postal_i is not None else ""
        tz = lead_zones(cells[tz_i].strip() if tz_i is not None else "", zones, num_region, state, postal)
        first = cells[first_i].strip() if first_i is not None else ""
        last = cells[last_i].strip() if last_i is not None else ""
        extra = [k + _json_str(cells[j]) for k, j in custom if cells[j]]
        if name_i is not None and cells[name_i].strip():
            if not first and not last:
                first, last = split_name(cells[name_i], num_region)
            else:
                extra.append(_json_str(columns[name_i]) + ": " + _json_str(cells[name_i]))
        country = num_region if num_region and num_region != "001" else region
        ext = cells[ext_i].strip() if ext_i is not None else ""
        out.append((i, primary, alts, (
            primary, '["' + '", "'.join(alts) + '"]' if alts else "[]", first or None, last or None,
            state or None, postal or None, country, tz, ext or None,
            "{" + ", ".join(extra) + "}" if extra else "{}", rownums[i],
        )))
    return out
