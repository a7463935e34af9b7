"""A clear one-line error instead of a traceback (issue 14); each failed on the previous main."""

from __future__ import annotations

import socket
from pathlib import Path

from click.testing import CliRunner

from dialer.cli import main


def _run(tmp_path: Path, *args: str):
    env = {"DIALER_DATA_DIR": str(tmp_path / "data"), "DIALER_LOG_LEVEL": "WARNING"}
    return CliRunner().invoke(main, list(args), env=env)


def _one_line_error(result, *words: str) -> None:
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    text = result.output.strip()
    assert "Traceback" not in text and text.count("\n") == 0, text
    for w in words:
        assert w in text, text


def test_sim_on_a_busy_port(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        _one_line_error(_run(tmp_path, "sim", "--port", str(port)), f"127.0.0.1:{port}", "address already in use")


def test_export_into_a_missing_directory(tmp_path: Path) -> None:
    leads = tmp_path / "l.csv"
    leads.write_text("phone\n+12125550101\n", encoding="utf-8")
    assert _run(tmp_path, "lists", "import", str(leads), "--list", "l").exit_code == 0
    out = tmp_path / "missing" / "x.csv"
    _one_line_error(_run(tmp_path, "lists", "export", "l", "--out", str(out)), str(out), "cannot write")


def test_database_path_that_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "data" / "dialer.db").mkdir(parents=True)
    _one_line_error(_run(tmp_path, "db", "current"), "cannot open database")


def test_run_with_the_http_port_taken(tmp_path: Path, monkeypatch) -> None:
    # Before: AMI login, engine start, 72 log lines, 2 tracebacks, rc 3. Now nothing starts:
    # the daemon's Server is never built.
    import dialer.server

    monkeypatch.setattr(dialer.server, "Server", lambda *a, **k: (_ for _ in ()).throw(AssertionError("started")))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {"DIALER_DATA_DIR": str(tmp_path / "data"), "DIALER_LOG_LEVEL": "WARNING",
               "DIALER_HTTP_PORT": str(port), "DIALER_AMI_PORT": "1"}
        result = CliRunner().invoke(main, ["run"], env=env)
    assert result.exit_code == 2
    _one_line_error(result, f"127.0.0.1:{port}", "in use", "--no-http")
