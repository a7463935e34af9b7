"""National numbers and the ``default_region`` setting (issue 14); each failed on main.

Before: ``dnc import`` of 10-digit US numbers said ``3 not usable {'no_region': 3}`` with rc 0
(a Python dict), and the ``dnc_refresh`` job added 0 numbers and reported "ok".
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dialer.cli import main
from dialer.db import open_engine
from dialer.errors import ConfigError
from dialer.scheduler import JobRunner
from dialer.settings import load_settings

NATIONAL = "2125550143\n2125550144\n2125550145\n"


def _run(tmp_path: Path, *args: str, region: str | None = None):
    env = {"DIALER_DATA_DIR": str(tmp_path / "data"), "DIALER_LOG_LEVEL": "WARNING"}
    if region is not None:
        env["DIALER_LISTS_DEFAULT_REGION"] = region
    return CliRunner().invoke(main, list(args), env=env)


def test_dnc_import_of_national_numbers_without_a_region_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "dnc.txt"
    path.write_text(NATIONAL)
    r = _run(tmp_path, "dnc", "import", str(path))
    assert r.exit_code == 2 and r.output.count("\n") == 1, r.output
    assert "3 numbers have no country code" in r.output and "--region" in r.output and "default_region" in r.output
    assert "{" not in r.output
    assert _run(tmp_path, "dnc", "check", "+12125550143").exit_code == 0  # nothing added


def test_default_region_setting_is_used_by_dnc_and_lists(tmp_path: Path) -> None:
    path = tmp_path / "dnc.txt"
    path.write_text(NATIONAL + "12\n")
    r = _run(tmp_path, "dnc", "import", str(path), region="us")
    assert r.exit_code == 0, r.output
    assert r.output.strip() == f"{path}: 4 numbers read, 3 added, 0 already listed, 1 not usable (1 too short)"
    assert _run(tmp_path, "dnc", "check", "2125550143", region="US").exit_code == 1
    leads = tmp_path / "leads.csv"
    leads.write_text("phone\n2125550146\n")
    r = _run(tmp_path, "lists", "import", str(leads), "--list", "l", "--json", region="US")
    assert r.exit_code == 0 and json.loads(r.output)["imported"] == 1, r.output
    r = _run(tmp_path, "lists", "import", str(leads), "--list", "m")
    assert r.exit_code == 2 and "1 numbers have no country code" in r.output


def test_default_region_is_validated() -> None:
    with pytest.raises(ConfigError, match="lists.default_region 'XX' is not an ISO 3166 alpha-2"):
        load_settings(env={"DIALER_LISTS_DEFAULT_REGION": "XX"})
    assert load_settings(env={"DIALER_LISTS_DEFAULT_REGION": "hu"}).lists.default_region == "HU"


def _job(tmp_path: Path, region: str | None):
    inbox = tmp_path / "data" / "dnc-inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "national.txt").write_text(NATIONAL)
    engine = open_engine(f"sqlite:///{tmp_path / 'data' / 'dialer.db'}")
    try:
        runner = JobRunner(engine, data_dir=tmp_path / "data", node="t", context={"default_region": region})
        return runner.run("dnc_refresh")
    finally:
        engine.dispose()


def test_dnc_job_warns_about_national_numbers_without_a_region(tmp_path: Path) -> None:
    outcome = _job(tmp_path, None)
    assert outcome.result == "warning" and outcome.counts["added"] == 0
    assert "national.txt: " in outcome.message and "3 numbers have no country code" in outcome.message
    assert list((tmp_path / "data" / "dnc-inbox" / "failed").iterdir())


def test_dnc_job_uses_the_default_region(tmp_path: Path) -> None:
    outcome = _job(tmp_path, "US")
    assert outcome.result == "ok" and outcome.counts["added"] == 3, outcome
