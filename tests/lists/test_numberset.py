"""The import's set of numbers as integer keys behaves as a set of E.164 strings."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from lists.numberset import NumberSet, number_keys

E164 = st.from_regex(r"\+[1-9][0-9]{0,14}", fullmatch=True)
OTHER = st.one_of(st.none(), st.text(max_size=6), st.from_regex(r"\+0[0-9]{1,5}|[0-9]{1,9}|\+[0-9]{19,22}",
                                                                 fullmatch=True))


@given(st.lists(st.one_of(E164, OTHER), max_size=40))
def test_keys_are_one_to_one_with_numbers_and_minus_one_for_the_rest(values: list) -> None:
    keys = number_keys(values)
    for value, key in zip(values, keys.tolist(), strict=True):
        if isinstance(value, str) and value[:1] == "+" and value[1:].isdigit() and value[1] != "0" \
                and len(value) <= 19:
            assert key == int(value[1:])
        else:
            assert key == -1
    e164 = [v for v in values if v is None or (v[:1] == "+" and v[1:].isdigit() and v[1] != "0" and len(v) <= 16)]
    assert number_keys(e164, e164=True).tolist() == number_keys(e164).tolist()


@given(st.lists(st.lists(E164, max_size=30), max_size=30), st.lists(E164, max_size=30))
def test_grown_a_chunk_at_a_time_it_answers_as_a_python_set(chunks: list[list[str]], probes: list[str]) -> None:
    numbers = NumberSet.of([chunks[0]] if chunks else [])
    model = set(chunks[0]) if chunks else set()
    snapshot = numbers.copy()
    for chunk in chunks[1:]:
        keys = np.unique(number_keys(chunk))
        new = keys[~numbers.contains(keys)]
        numbers.add(new)
        model |= set(chunk)
        sizes = [len(r) for r in numbers.runs]
        assert all(a > 2 * b for a, b in zip(sizes, sizes[1:], strict=False))  # runs shrink geometrically
        assert all((np.diff(r) > 0).all() for r in numbers.runs)  # each run sorted, no repeats
    assert len(numbers) == len(model)
    everything = [*model, *probes]
    assert numbers.contains(number_keys(everything)).tolist() == [p in model for p in everything]
    first = set(chunks[0]) if chunks else set()  # a copy does not see what was added after it
    assert snapshot.contains(number_keys(everything)).tolist() == [p in first for p in everything]
