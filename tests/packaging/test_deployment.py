"""Deployment files: the systemd units run real commands, reload with SIGHUP, log JSON to the
journal, are hardened and pass ``systemd-analyze verify``; the Grafana dashboard asks only for
metrics the daemon exports."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from dialer.cli import main
from dialer.metrics import DaemonMetrics

ROOT = Path(__file__).resolve().parents[2]
UNITS = {"dialer.service": "run", "dialer-scheduler.service": "scheduler"}
HARDENING = {
    "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
    "PrivateDevices": "yes", "CapabilityBoundingSet": "", "RestrictSUIDSGID": "yes", "UMask": "0077",
    "SystemCallFilter": "@system-service", "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
}


def unit(name: str) -> dict[str, list[str]]:
    """``Key`` -> every value it is given (systemd keys repeat)."""
    out: dict[str, list[str]] = defaultdict(list)
    for line in (ROOT / "config" / "systemd" / name).read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            out[key.strip()].append(value.strip())
    return out


@pytest.mark.parametrize("name", UNITS)
def test_unit_runs_a_real_command_reloads_and_logs_json(name: str, tmp_path: Path) -> None:
    u = unit(name)
    argv = shlex.split(u["ExecStart"][0])
    assert argv[0] == "/opt/dialer/bin/dialer" and argv[-1] == UNITS[name]
    settings = tmp_path / "dialer.toml"
    settings.write_text((ROOT / "config" / "dialer.toml").read_text())
    args = [settings.as_posix() if a == "/etc/dialer/dialer.toml" else a for a in argv[1:]]
    helped = CliRunner().invoke(main, [*args, "--help"])  # the options exist, the settings load
    assert helped.exit_code == 0, helped.output
    assert "SIGHUP" in helped.output  # the command says it reloads
    assert u["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    env = dict(e.split("=", 1) for e in u["Environment"])
    assert env["DIALER_LOG_FORMAT"] == "json" and env["DIALER_DATA_DIR"] == "/var/lib/dialer"
    assert u["StateDirectory"] == ["dialer"] and u["EnvironmentFile"] == ["-/etc/dialer/dialer.env"]
    for key, value in HARDENING.items():
        assert value in u[key], (key, u[key])


@pytest.mark.parametrize("name", UNITS)
def test_unit_passes_systemd_analyze_verify(name: str, tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    # The units' own checker (the deployment target has it); never skipped: .ci/run installs it.
    assert analyze is not None, ("systemd-analyze is needed to check the unit files: "
                                 "apt-get install -y systemd (.ci/run does so on CI)")
    dialer = shutil.which("dialer") or str(Path(__import__("sys").executable).parent / "dialer")
    text = (ROOT / "config" / "systemd" / name).read_text().replace("/opt/dialer/bin/dialer", dialer)
    (tmp_path / name).write_text(text)
    done = subprocess.run([analyze, "verify", f"./{name}"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def test_grafana_dashboard_asks_only_for_exported_metrics() -> None:
    dashboard = json.loads((ROOT / "config" / "grafana" / "dialer-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert len(exprs) >= 8
    metrics = DaemonMetrics("n")
    idle = SimpleNamespace(now=lambda: 0.0, campaigns={}, link=SimpleNamespace(),
                           session=SimpleNamespace(link_up=True, synced=True),
                           writer=SimpleNamespace(backlog=0, healthy=True))
    metrics.watch(idle)
    exported = {f.name for f in metrics.registry.collect()}
    names = {n for e in exprs for n in re.findall(r"\b(dialer_[a-z0-9_]+)", e)}
    base = {re.sub(r"_(total|bucket|count|sum)$", "", n) for n in names}
    assert base <= exported, base - exported
