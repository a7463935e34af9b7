"""The discrete-event simulation: shipped scenarios load, runs are deterministic and sane."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dialer.pacing import make_policy
from dialer.pacing.sim.engine import simulate
from dialer.pacing.sim.metrics import run_metrics
from dialer.pacing.sim.scenario import ceiling, load_scenario, scenario_from_dict

SCENARIOS = Path(__file__).resolve().parents[2] / "benchmarks" / "scenarios"
FILES = sorted(SCENARIOS.glob("*.toml"))


def test_issue_scenarios_are_shipped() -> None:
    scs = [load_scenario(f) for f in FILES]
    sizes = [s.agents for s in scs]
    assert any(3 <= n <= 5 for n in sizes)
    assert any(10 <= n <= 20 for n in sizes)
    assert any(50 <= n <= 100 for n in sizes)
    human = [s.outcome_probs(0)[0] for s in scs]
    assert min(human) == pytest.approx(0.10, abs=0.02)
    assert max(human) == pytest.approx(0.35, abs=0.02)
    assert any(s.drift for s in scs)
    assert any(s.amd for s in scs)
    talk = [s.talk["human"].mean for s in scs]
    assert min(talk) <= 50 and max(talk) >= 280
    assert all(s.breaks and s.login_spread > 0 for s in scs)


def test_scenario_errors_name_the_field() -> None:
    with pytest.raises(ValueError, match="agents"):
        scenario_from_dict({"name": "x"})
    with pytest.raises(ValueError, match="ring_timeout"):
        scenario_from_dict({"name": "x", "agents": {"count": 2}, "dialer": {"ring_timeout": 10}})


def test_short_day_predictive_stays_under_target() -> None:
    sc = load_scenario(SCENARIOS / "small.toml")
    rec = simulate(sc, lambda: make_policy("predictive"), 0, hours=2.5)
    m = run_metrics(rec, ceiling(sc))
    assert m.connected > 50
    assert m.abandon_rate <= 0.03
    assert 0 < m.fraction_of_ceiling < 1


def test_runs_are_deterministic_and_multi_day_works() -> None:
    sc = load_scenario(SCENARIOS / "small.toml").with_changes(days=2)
    a = run_metrics(simulate(sc, lambda: make_policy("ratio", ratio=2.0), 4, hours=1), 0.9)
    b = run_metrics(simulate(sc, lambda: make_policy("ratio", ratio=2.0), 4, hours=1), 0.9)
    assert a == b
    assert a.dials > 0 and a.agent_hours > 4


def test_cli_json() -> None:
    from dialer.cli.bench import cli

    result = CliRunner().invoke(
        cli,
        ["pacing", "--scenario", str(SCENARIOS / "small.toml"), "--seeds", "1", "--hours", "0.5",
         "--policy", "progressive", "--json"],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    (row,) = data["summaries"]
    assert row["policy"] == "progressive" and row["seeds"] == 1
    assert {"talk_mean", "talk_p5", "fraction", "abandon_mean", "worst_24h", "worst_hour",
            "wait_mean", "wait_p95", "dials_per_connect", "peak_lines"} <= set(row)


def test_cli_rejects_unknown_policy() -> None:
    from dialer.cli.bench import cli

    result = CliRunner().invoke(cli, ["pacing", "--policy", "turbo", "--seeds", "1"])
    assert result.exit_code != 0
