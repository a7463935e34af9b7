"""The one distribution model of both simulators: same draws as the two old parsers, strict keys."""

from __future__ import annotations

import math
import random
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.distributions import (
    KINDS,
    PACING_FOLD,
    PACING_OUTCOMES,
    Distribution,
    DistributionError,
    Fixed,
    Gamma,
    LogNormal,
    PartyOutcome,
    Uniform,
    parse_distribution,
)
from dialer.pacing.sim import scenario as pacing_scenario
from dialer.sim import scenario as sim_scenario

ROOT = Path(__file__).resolve().parents[1]

# Draws 1-5 from random.Random(42) by the parsers as they were before the merge (the PBX
# simulator's `Dist` with `sd`, the pacing simulator's with `cv`), kept as exact floats.
OLD_PBX_SIM = [
    ({"dist": "lognormal", "mean": 9, "sd": 5, "min": 1.5, "max": 60}, (8.934911559459454, 6.080245037135158, 15.082193277725597, 7.3237780650204245, 4.7428006120352055)),
    ({"dist": "lognormal", "mean": 70, "sd": 50, "min": 5, "max": 1800}, (66.67884873200784, 41.40358330724131, 127.48827061427448, 52.12945996550629, 30.442351809413903)),
    ({"dist": "lognormal", "mean": 80, "sd": 45, "min": 10, "max": 1800}, (79.29713513162976, 53.73535845839495, 134.62270657183691, 64.85717540377368, 41.801713692537184)),
    ({"dist": "lognormal", "mean": 25, "sd": 10, "min": 5}, (25.51275627536485, 19.168243280226523, 37.640329931246804, 22.009586990180612, 15.93834666204314)),
    ({"dist": "lognormal", "mean": 75, "sd": 45, "min": 10, "max": 1200}, (73.68375959149971, 48.824831691703324, 128.9649821761038, 59.5722710248814, 37.43629448115153)),
    ({"dist": "lognormal", "mean": 40, "sd": 20, "min": 5}, (40.17299943526811, 28.292816113995233, 64.7183235242867, 33.518289263467544, 22.563847559035928)),
    ({"dist": "uniform", "low": 0.3, "high": 3.0}, (2.026452355836286, 0.3675290391012007, 1.042579159596622, 0.9026689930018215, 2.2884722782428337)),
    ({"dist": "exponential", "mean": 20}, (20.401205745496018, 0.5065767808547778, 6.432481281499311, 5.0517237134022706, 26.671853456161656)),
    ({"dist": "normal", "mean": 60, "sd": 20}, (57.118193408441435, 56.54192799336961, 57.77368276864675, 74.03967450197726, 57.44823432434226)),
    ({"dist": "normal", "mean": 60, "sd": 20, "min": 10, "max": 70}, (57.118193408441435, 56.54192799336961, 57.77368276864675, 70.0, 57.44823432434226)),
    ({"dist": "fixed", "value": 4.5}, (4.5,) * 5),
    (3600, (3600.0,) * 5),
]
OLD_PACING_SIM = [
    ({"dist": "lognormal", "mean": 9, "cv": 0.5}, (9.038924872935327, 6.365883625648928, 14.561622792964512, 7.5416150842802, 5.076865700783085)),
    ({"dist": "lognormal", "mean": 12, "cv": 0.4}, (12.246123012175131, 9.200756774508736, 18.06735836699847, 10.564601755286697, 7.650406397780709)),
    ({"dist": "lognormal", "mean": 180, "cv": 0.8}, (167.0274455943535, 99.10252583654069, 339.7323058571189, 127.54960873170545, 70.75823698888121)),
    ({"dist": "lognormal", "mean": 300, "cv": 0.7}, (286.9519747292316, 179.5840736383273, 542.8188772179149, 225.25022148090537, 132.7113324533336)),
    ({"dist": "lognormal", "mean": 45, "cv": 0.6}, (44.2102557548998, 29.294899015021972, 77.37898930566229, 35.74336261492882, 22.46177668869091)),
    ({"dist": "gamma", "mean": 20, "cv": 0.5}, (24.835137520024038, 13.865293970410173, 29.493479763587686, 17.755856174242524, 12.358556640103037)),
    ({"dist": "gamma", "mean": 30, "cv": 0.5}, (37.25270628003606, 20.79794095561526, 44.24021964538153, 26.63378426136379, 18.537834960154555)),
    ({"dist": "gamma", "mean": 10, "cv": 0.5}, (12.417568760012019, 6.9326469852050865, 14.746739881793843, 8.877928087121262, 6.179278320051519)),
    ({"dist": "uniform", "low": 2, "high": 6}, (4.5577071938315346, 2.1000430208906677, 3.100117273476477, 2.892842952595291, 4.94588485665605)),
    ({"dist": "exponential", "mean": 30}, (30.601808618244032, 0.7598651712821668, 9.648721922248967, 7.577585570103406, 40.007780184242485)),
    ({"dist": "fixed", "mean": 7}, (7.0,) * 5),
    (12, (12.0,) * 5),
]


@pytest.mark.parametrize(("spec", "expected"), OLD_PBX_SIM + OLD_PACING_SIM)
def test_same_draws_as_the_old_parsers(spec: Any, expected: tuple[float, ...]) -> None:
    dist = parse_distribution(spec)
    rng = random.Random(42)
    assert tuple(dist.sample(rng) for _ in expected) == expected


def test_every_shipped_scenario_loads() -> None:
    pbx_files = [*sorted((ROOT / "dialer/sim/scenarios").glob("*.toml"))]
    pacing_files = sorted((ROOT / "benchmarks/scenarios").glob("*.toml"))
    assert pbx_files and pacing_files
    for path in pbx_files:
        sim_scenario.load_scenario(path)
    for path in pacing_files:
        sc = pacing_scenario.load_scenario(path)
        assert set(sc.ring) == {"human", "machine", "busy", "invalid"}
    sim_scenario.load_scenario()  # the packaged default


# --- one vocabulary of outcomes -----------------------------------------------------------------


def test_outcome_vocabulary() -> None:
    assert tuple(PartyOutcome) == sim_scenario.OUTCOMES
    assert pacing_scenario.OUTCOMES == PACING_OUTCOMES
    # Every outcome is modelled by the pacing simulator or folded into one it models.
    assert set(PACING_OUTCOMES) | set(PACING_FOLD) == set(PartyOutcome)
    assert set(PACING_FOLD.values()) <= set(PACING_OUTCOMES)


def test_pacing_scenario_folds_unmodelled_outcomes() -> None:
    base = {"name": "x", "agents": {"count": 2}}
    plain = pacing_scenario.scenario_from_dict(
        {**base, "outcomes": {"human": 0.2, "busy": 0.07, "invalid": 0.1, "no_answer": 0.5, "machine": 0.13}}
    )
    folded = pacing_scenario.scenario_from_dict(
        {**base, "outcomes": {"human": 0.2, "busy": 0.05, "congestion": 0.02, "invalid": 0.04,
                              "unavailable": 0.06, "no_answer": 0.5, "machine": 0.13}}
    )
    assert folded.outcome_probs(0) == pytest.approx(plain.outcome_probs(0))


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"name": "x", "agents": {"count": 2, "cout": 3}}, "agents.cout"),
        ({"name": "x", "agents": {"count": 2}, "talk": {"humna": 30}}, "talk.humna"),
        ({"name": "x", "agents": {"count": 2}, "talk": {"human": {"dist": "gamma", "mean": 30}}}, "talk.human.sd"),
        ({"name": "x", "agents": {"count": 2}, "outcomes": {"answered": 0.3}}, "outcomes.answered"),
        ({"name": "x", "agents": {"count": 2}, "dialer": {"ring_timout": 30}}, "dialer.ring_timout"),
        ({"name": "x", "agents": {"count": 2}, "amd": {"human_delay": {"dist": "uniform", "low": 2}}},
         "amd.human_delay.high"),
        ({"name": "x", "agents": {"count": 2}, "seed": 4}, "seed"),
    ],
)
def test_pacing_scenario_keys_are_strict(data: dict[str, Any], key: str) -> None:
    with pytest.raises(ValueError, match=f"^{key}: "):
        pacing_scenario.scenario_from_dict(data)


def test_pbx_scenario_distribution_errors_name_the_key() -> None:
    with pytest.raises(DistributionError, match=r"^called\.talk_time\.sdd: unknown key") as err:
        sim_scenario.scenario_from_dict({"called": {"talk_time": {"dist": "lognormal", "mean": 9, "sdd": 2}}})
    assert err.value.key == "called.talk_time.sdd"


# --- the parser ---------------------------------------------------------------------------------

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
positive = st.floats(min_value=1e-3, max_value=1e6)
spread = st.floats(min_value=0.0, max_value=5.0)


@st.composite
def bounds(draw: st.DrawFn) -> dict[str, float]:
    out: dict[str, float] = {}
    lo = draw(st.none() | st.floats(min_value=-10, max_value=100))
    if lo is not None:
        out["min"] = lo
    if draw(st.booleans()):
        out["max"] = draw(st.floats(min_value=out.get("min", 0.0), max_value=1e4) | st.just(math.inf))
    return out


@st.composite
def valid_tables(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(sorted(KINDS)))
    table: dict[str, Any] = {"dist": kind}
    if kind == "fixed":
        table[draw(st.sampled_from(["value", "mean"]))] = draw(finite)
    elif kind == "uniform":
        low = draw(finite)
        table.update(low=low, high=draw(st.floats(min_value=low, max_value=low + 1e4)))
    else:
        table["mean"] = draw(positive)
        if kind != "exponential":
            s = draw(st.floats(min_value=1e-3, max_value=5.0) if kind == "gamma" else spread)
            table[draw(st.sampled_from(["sd", "cv"]))] = s
    table.update(draw(bounds()))
    return table


@given(valid_tables())
def test_valid_tables_round_trip(table: dict[str, Any]) -> None:
    dist = parse_distribution(table)
    assert isinstance(dist, KINDS[table["dist"]])
    assert parse_distribution(dist.to_data()) == dist
    assert tomllib.loads(_toml(dist.to_data()))["x"] == dist.to_data()
    x = dist.sample(random.Random(1))
    assert dist.min <= x <= dist.max


@given(valid_tables(), st.sampled_from(["sdev", "Mean", "lo", "shape", "value2"]), finite)
def test_unknown_key_is_named(table: dict[str, Any], key: str, value: float) -> None:
    with pytest.raises(DistributionError) as err:
        parse_distribution({**table, key: value}, "talk.human")
    assert err.value.key == f"talk.human.{key}" and key in str(err.value)


@given(valid_tables(), st.data())
def test_non_number_is_named(table: dict[str, Any], data: st.DataObject) -> None:
    key = data.draw(st.sampled_from(sorted(k for k in table if k != "dist")))
    bad = data.draw(st.sampled_from(["7", True, None, [1.0], math.nan]))
    with pytest.raises(DistributionError) as err:
        parse_distribution({**table, key: bad}, "ring.busy")
    assert err.value.key == f"ring.busy.{key}"


@given(valid_tables(), st.data())
def test_missing_required_key_is_named(table: dict[str, Any], data: st.DataObject) -> None:
    required = [k for k in ("value", "mean", "low", "high") if k in table]
    key = data.draw(st.sampled_from(required))
    del table[key]
    if table["dist"] == "fixed" and key == "mean":
        key = "value"  # `mean` is only another spelling of a fixed distribution's `value`
    with pytest.raises(DistributionError) as err:
        parse_distribution(table, "d")
    assert err.value.key == f"d.{key}"


@pytest.mark.parametrize(
    ("spec", "key", "words"),
    [
        ({"dist": "weibull", "mean": 3}, "d.dist", "unknown kind"),
        ({"dist": "uniform", "low": 3, "high": 1}, "d.high", "must be >= low"),
        ({"dist": "lognormal", "mean": 0, "sd": 1}, "d.mean", "must be > 0"),
        ({"dist": "lognormal", "mean": 9, "sd": 1, "cv": 0.1}, "d.cv", "exactly one of sd and cv"),
        ({"dist": "lognormal", "mean": 9}, "d.sd", "exactly one of sd and cv"),
        ({"dist": "normal", "mean": 9, "sd": -1}, "d.sd", "must be >= 0"),
        ({"dist": "gamma", "mean": 9, "cv": 0}, "d.cv", "must be > 0"),
        ({"dist": "exponential", "mean": 9, "cv": 1}, "d.cv", "unknown key"),
        ({"dist": "fixed", "value": 1, "mean": 1}, "d.mean", "not both"),
        ({"dist": "fixed", "value": 1, "min": 5, "max": 2}, "d.max", "must be >= min"),
        ({"dist": "exponential", "mean": math.inf}, "d.mean", "finite"),
        ("12", "d", "a number or a table"),
    ],
)
def test_invalid_values_are_named(spec: Any, key: str, words: str) -> None:
    with pytest.raises(DistributionError, match=words) as err:
        parse_distribution(spec, "d")
    assert err.value.key == key and str(err.value).startswith(f"{key}: ")


def test_kinds_and_means() -> None:
    assert parse_distribution(5) == Fixed(5.0)
    assert parse_distribution({"dist": "fixed", "mean": 5}) == Fixed(5.0)
    assert Uniform(2, 6).mean == 4
    assert LogNormal(9, sd=4.5) != LogNormal(9, cv=0.5)  # kept as written: each has its arithmetic
    assert Gamma(20, cv=0.5).mean == 20
    dist: Distribution = parse_distribution({"dist": "normal", "mean": 60, "cv": 0.5, "max": 61})
    assert all(dist.sample(random.Random(s)) <= 61 for s in range(50))
    with pytest.raises(ValueError, match="exactly one"):
        LogNormal(9)


def _toml(table: dict[str, Any]) -> str:
    def value(v: Any) -> str:
        if isinstance(v, str):
            return f'"{v}"'
        return "inf" if v == math.inf else repr(float(v))

    return "x = { " + ", ".join(f"{k} = {value(v)}" for k, v in table.items()) + " }\n"
