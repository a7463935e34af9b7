"""The policy registry: build a campaign's pacing policy by its dial mode.

The policies live in their own modules (:mod:`~dialer.pacing.simple`: progressive and
ratio; :mod:`~dialer.pacing.predictive`; :mod:`~dialer.pacing.vicidial`, the benchmark
baseline); this module only imports them, and none of them imports it back.
"""

from __future__ import annotations

from typing import Any

from dialer.pacing.predictive import Predictive
from dialer.pacing.simple import Policy, Progressive, Ratio, uncovered_ready
from dialer.pacing.vicidial import Vicidial

__all__ = ["POLICIES", "Policy", "Progressive", "Ratio", "make_policy", "uncovered_ready"]

POLICIES = ("progressive", "ratio", "predictive", "vicidial")


def make_policy(mode: str, **params: Any) -> Policy:
    """Build a policy by its campaign dial mode.

    - ``progressive``: no parameters.
    - ``ratio``: ``ratio`` (lines per ready agent, default 2.0).
    - ``predictive``: see :class:`~dialer.pacing.predictive.Predictive` (all optional).
    - ``vicidial``: see :class:`~dialer.pacing.vicidial.Vicidial` (the benchmark baseline).
    """
    if mode == "progressive":
        if params:
            raise TypeError(f"progressive takes no parameters, got {sorted(params)}")
        return Progressive()
    if mode == "ratio":
        return Ratio(**params)
    if mode == "predictive":
        return Predictive(**params)
    if mode == "vicidial":
        return Vicidial(**params)
    raise ValueError(f"unknown dial mode {mode!r}; expected one of {', '.join(POLICIES)}")
