"""The abandon governor for fixed-ratio campaigns (pure): the governor the session paces with."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.pacing import AbandonCounts, Snapshot
from dialer.pacing.governor import abandon_limit_reached as _abandon_limit_reached


@pytest.mark.parametrize(
    ("abandoned", "connected", "limited"),
    [(0, 0, False), (0, 500, False), (1, 10, True), (1, 64, True), (1, 65, False), (3, 200, False), (3, 120, True)],
)
def test_table(abandoned: int, connected: int, limited: bool) -> None:
    snap = Snapshot(now=0.0, day=AbandonCounts(abandoned, connected), abandon_target=0.03)
    assert _abandon_limit_reached(snap) is limited


@given(st.integers(0, 50), st.integers(0, 5000))
def test_free_ratio_dialling_never_starts_from_a_rate_that_one_abandon_would_break(a: int, c: int) -> None:
    snap = Snapshot(now=0.0, day=AbandonCounts(a, c), abandon_target=0.03)
    if a and not _abandon_limit_reached(snap):
        assert (a + 1) / (a + c + 1) <= 0.03
