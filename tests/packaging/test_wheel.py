"""Issue 19 acceptance: the built wheel is complete.

The wheel is built from a copy of the sources, installed into a fresh virtual environment
outside the checkout, and run from an empty folder: ``dialer init``, ``dialer demo``, ``dialer
bench pacing --scenario small``, ``dialer campaigns ls`` (which creates nothing).

To stay fast and offline, the wheel is built without build isolation (the dev environment's
setuptools) and installed without its dependencies; the fresh environment sees the dev
environment's installed packages through a ``.pth`` line (never its editable ``dialer``: a
path added that way is not a site directory, so its ``__editable__`` hook is not run), and
``pip check`` proves every dependency the wheel declares is satisfied there.

Installing the dependencies themselves into the fresh environment would need a package index
(tests use no network beyond loopback) or a local wheelhouse: the dev environment holds
installed packages, not wheels, and ``make`` installs them without keeping a pip cache. So
what is proved is that the wheel's declared dependencies are enough, not that pip resolves
them from an index: `pip install dist/dialer-*.whl` in a clean environment does that, online.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: What a source distribution holds (MANIFEST.in): the build must need nothing else.
SOURCES = ("dialer", "campaigns", "lists", "config", "benchmarks/scenarios", "pyproject.toml", "setup.py",
           "MANIFEST.in", "README.md")
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "_shipped", "*.egg-info")


@dataclass
class Installed:
    wheel: Path
    venv: Path
    home: Path
    work: Path  # the empty folder the commands run in

    def env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items()
                if not k.startswith(("DIALER_", "PYTHON", "VIRTUAL_ENV", "XDG_"))}
        return {**keep, "HOME": str(self.home), "PATH": f"{self.venv / 'bin'}{os.pathsep}{keep.get('PATH', '')}"}

    def dialer(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.venv / "bin" / "dialer"), *args], cwd=self.work, env=self.env(),
                              capture_output=True, text=True, timeout=timeout)


def _run(*cmd: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("packaging")
    src = base / "src"
    for name in SOURCES:
        origin = ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, src / name, ignore=IGNORE)
        else:
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, src / name)
    dist = base / "dist"
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
         "-w", dist, src)
    (wheel,) = dist.glob("dialer-*.whl")
    venv = base / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q", wheel)
    purelib = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip())
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (purelib / "zz-dev-dependencies.pth").write_text("\n".join(sorted(deps)) + "\n")
    home, work = base / "home", base / "work"
    home.mkdir()
    work.mkdir()
    return Installed(wheel, venv, home, work)


def test_wheel_holds_every_shipped_file(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as whl:
        names = set(whl.namelist())
        metadata = next(whl.read(n).decode() for n in names if n.endswith(".dist-info/METADATA"))
    for folder, inside in (("config", "config"), ("benchmarks/scenarios", "scenarios")):
        files = [p.relative_to(ROOT / folder).as_posix() for p in (ROOT / folder).rglob("*")
                 if p.is_file() and "__pycache__" not in p.parts]
        assert files
        missing = [f for f in files if f"dialer/_shipped/{inside}/{f}" not in names]
        assert not missing, f"not in the wheel: {missing}"
    migrations = [p.name for p in (ROOT / "dialer" / "migrations" / "versions").glob("*.py")]
    assert migrations and all(f"dialer/migrations/versions/{m}" in names for m in migrations)
    # The SPDX license expression (PEP 639), not the deprecated table.
    assert "License-Expression: Apache-2.0" in metadata


def test_installed_dialer_is_the_wheels_and_its_dependencies_are_met(installed: Installed) -> None:
    python = installed.venv / "bin" / "python"
    where = _run(python, "-c", "import dialer, dialer.resources as r; print(dialer.__file__); print(r.config_dir())",
                 cwd=installed.work).split()
    assert all(Path(p).is_relative_to(installed.venv) for p in where), where
    _run(sys.executable, "-m", "pip", "--python", python, "check")


def test_init_demo_bench_and_a_read_only_command_from_an_empty_folder(installed: Installed) -> None:
    data_dir = installed.home / ".local" / "share" / "dialer"
    helped = installed.dialer("--help")
    assert helped.returncode == 0 and "init" in helped.stdout

    init = installed.dialer("init")
    assert init.returncode == 0, init.stderr
    assert "next steps" in init.stdout
    for name in ("dialer.toml", "campaigns/example.toml", "asterisk/manager.conf", "asterisk/extensions-dialer.conf"):
        assert (installed.work / name).is_file(), name
    assert (installed.work / "dialer.toml").read_text() == (ROOT / "config" / "dialer.toml").read_text()
    assert not data_dir.exists()  # init writes configuration, no database

    with socket.socket() as probe:  # the demo serves the desktop (the wheel's static files) on a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    demo = installed.dialer("demo", "--minutes", "1", "--leads", "60", "--agents", "3", "--speed", "60",
                            "--port", str(port), "--json")
    assert demo.returncode == 0, demo.stderr[-3000:]
    report = json.loads(demo.stdout)
    assert report["simulator_truth"]["placed"] > 0
    assert (data_dir / "demo" / "dialer.db").is_file()  # the default data directory, absolute

    bench = installed.dialer("bench", "pacing", "--seeds", "1", "--scenario", "small", "--json")
    assert bench.returncode == 0, bench.stderr[-3000:]
    summaries = json.loads(bench.stdout)["summaries"]
    assert {s["scenario"] for s in summaries} == {"small"} and len(summaries) == 4

    before = sorted(p.relative_to(installed.home) for p in installed.home.rglob("*"))
    here = sorted(installed.work.rglob("*"))
    listed = installed.dialer("campaigns", "ls")
    assert listed.returncode == 1
    assert "no database yet" in listed.stderr and str(data_dir / "dialer.db") in listed.stderr
    assert "Traceback" not in listed.stderr
    assert sorted(p.relative_to(installed.home) for p in installed.home.rglob("*")) == before
    assert sorted(installed.work.rglob("*")) == here
