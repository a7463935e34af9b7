"""The pieces of a complete install, in process: shipped files, ``dialer init``, scenarios by
name, and commands that only read never creating a database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dialer import resources
from dialer.cli import main
from dialer.pacing.sim.bench import scenario_file

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_folders_fall_back_to_the_checkout(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(resources, "SHIPPED_DIR", tmp_path / "none")
    assert resources.config_dir() == ROOT / "config"
    assert resources.scenarios_dir() == ROOT / "benchmarks" / "scenarios"
    (tmp_path / "wheel" / "config").mkdir(parents=True)
    monkeypatch.setattr(resources, "SHIPPED_DIR", tmp_path / "wheel")
    assert resources.config_dir() == tmp_path / "wheel" / "config"  # an installed wheel's copy first
    with pytest.raises(KeyError):
        resources.shipped("secrets")


def test_setup_py_ships_what_resources_reads() -> None:
    import ast

    tree = ast.parse((ROOT / "setup.py").read_text())
    shipped = next(ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
                   and any(isinstance(t, ast.Name) and t.id == "SHIPPED" for t in node.targets))
    assert shipped == resources.SOURCES


def test_scenario_by_name_or_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no benchmarks/ here: the shipped scenarios
    assert scenario_file("small") == resources.scenarios_dir() / "small.toml"
    assert scenario_file("small.toml") == resources.scenarios_dir() / "small.toml"
    own = tmp_path / "mine.toml"
    own.write_text("x = 1\n")
    assert scenario_file(str(own)) == own
    with pytest.raises(ValueError, match=r"scenario 'tiny': .*small"):
        scenario_file("tiny")
    result = CliRunner().invoke(main, ["bench", "pacing", "--scenario", "nope/tiny.toml"])
    assert result.exit_code == 2 and "not a shipped scenario" in result.output


def test_init_writes_a_starting_configuration_and_keeps_existing_files(tmp_path: Path) -> None:
    env = {"DIALER_DATA_DIR": str(tmp_path / "data")}
    target = tmp_path / "site"
    result = CliRunner().invoke(main, ["init", str(target), "--json"], env=env)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    written = {Path(f).relative_to(target).as_posix() for f in out["files"]}
    asterisk = {f"asterisk/{p.name}" for p in (ROOT / "config" / "asterisk").iterdir()}
    units = {f"systemd/{p.name}" for p in (ROOT / "config" / "systemd").iterdir()}
    assert "systemd/dialer.service" in units
    assert written == {"dialer.toml", "campaigns/example.toml", *asterisk, *units}
    assert (target / "campaigns" / "example.toml").read_text() == \
        (ROOT / "config" / "campaigns" / "retention-basic.toml").read_text()
    assert any("DIALER_CONFIG" in step for step in out["next_steps"])
    assert not (tmp_path / "data").exists()  # no database, no data directory
    # The written settings file loads as is.
    shown = CliRunner().invoke(main, ["--config", str(target / "dialer.toml"), "config"], env=env)
    assert shown.exit_code == 0, shown.output
    # Run again: nothing is overwritten without --force.
    (target / "dialer.toml").write_text("# mine\n")
    again = CliRunner().invoke(main, ["init", str(target)], env=env)
    assert again.exit_code == 2 and "already exists" in again.output
    assert (target / "dialer.toml").read_text() == "# mine\n"
    forced = CliRunner().invoke(main, ["init", str(target), "--force"], env=env)
    assert forced.exit_code == 0 and "next steps" in forced.output
    assert (target / "dialer.toml").read_text() != "# mine\n"


READ_ONLY = [
    ["campaigns", "ls"], ["campaigns", "show", "x"], ["campaigns", "status", "x"], ["lists", "ls"],
    ["lists", "show", "x"], ["calls", "ls"], ["calls", "show", "1"], ["agents", "ls"], ["report", "x"],
    ["dnc", "check", "+12125550143"], ["jobs", "history"], ["lists", "audit", "x"],
    ["campaigns", "why", "x"], ["campaigns", "forecast", "x"], ["calls", "recording", "1"], ["webhooks", "ls"],
    ["audit", "ls"], ["nodes", "ls"], ["report", "agents"], ["report", "campaign", "x"],
    ["consent", "ls"], ["webhooks", "test", "x"],
]


@pytest.mark.parametrize("args", READ_ONLY, ids=lambda a: " ".join(a))
def test_commands_that_only_read_never_create_a_database(tmp_path: Path, args: list[str]) -> None:
    data = tmp_path / "data"
    result = CliRunner().invoke(main, args, env={"DIALER_DATA_DIR": str(data)})
    assert result.exit_code == 1, result.output
    assert f"no database yet at {data / 'dialer.db'}" in result.output
    assert not data.exists()


def test_jobs_ls_shows_the_schedules_without_a_database(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = CliRunner().invoke(main, ["jobs", "ls", "--json"], env={"DIALER_DATA_DIR": str(data)})
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert rows and all(r["last_started"] is None for r in rows)
    assert not data.exists()


def test_db_current_says_there_is_none_yet(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = CliRunner().invoke(main, ["db", "current", "--json"], env={"DIALER_DATA_DIR": str(data)})
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["current"] is None
    assert not data.exists()


def test_a_read_only_command_reads_an_existing_database(tmp_path: Path) -> None:
    env = {"DIALER_DATA_DIR": str(tmp_path / "data")}
    campaign = ROOT / "config" / "campaigns" / "retention-basic.toml"
    assert CliRunner().invoke(main, ["campaigns", "apply", str(campaign)], env=env).exit_code == 0
    listed = CliRunner().invoke(main, ["campaigns", "ls", "--json"], env=env)
    assert listed.exit_code == 0, listed.output
    assert [c["name"] for c in json.loads(listed.output)] == ["retention-basic"]
