"""Shared CLI rendering: tables for reports, the live dashboard."""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.markup import escape
from rich.table import Table

from dialer.cli.common import cell
from dialer.cli.common import console as make_console


def _pct(x: float) -> str:
    return f"{x * 100:.2f} %"


def dashboard_view(run: Any, end: float | None) -> Group:
    """The demo's live view: agents, lines, counters and abandon rate per campaign (fits 80 columns)."""
    engine = run.engine
    status = engine.status()
    left = "stopping" if end is None else f"{max(0.0, end - engine.clock.monotonic()) / 60:.1f} simulated min left"
    parts: list[Any] = []
    counters = status["counters"]
    for c in status["campaigns"]:
        a = c["agents"]
        agents = Table(title=f"campaign {c['name']} ({c['mode']}) — {left}", title_justify="left")
        # agents by state ("reserved": an owned callback is being placed to them), then lines and calls
        for col in ("ready", "talking", "wrap-up", "paused", "reserved", "lines", "ringing", "waiting"):
            agents.add_column(col, justify="right")
        agents.add_row(*(str(a.get(k, 0)) for k in ("ready", "talking", "wrapup", "paused", "reserved")),
                       str(c["lines"]), str(c["ringing"]), str(c["waiting"]))
        calls = Table()
        for col in ("placed", "answered", "connected", "abandoned", "abandon % 24h", "talk min/agent-h"):
            calls.add_column(col, justify="right")
        calls.add_row(str(c["placed"]), str(counters["answered"]), str(counters["connected"]),
                      str(c["abandoned_24h"]), _pct(c["abandon_rate_24h"]), f"{_talk_per_hour(engine):.1f}")
        parts += [agents, calls]
        if c["idle_reason"]:
            parts.append(f"[yellow]{escape(c['idle_reason'])}[/]")
    return Group(*parts)


def _talk_per_hour(engine: Any) -> float:
    now = engine.now()
    times = list(engine.agent_tracker.all_times(now))
    logged = sum(t.logged_in for t in times)
    talk = sum(t.talking for t in times)
    return talk / 60 / (logged / 3600) if logged else 0.0


def print_report(report: dict[str, Any], console: Console | None = None) -> None:
    """The campaign report as tables."""
    console = console or make_console()
    summary = Table(title=cell(f"campaign {report['campaign']}"), show_header=False)
    summary.add_column(style="bold")
    summary.add_column(justify="right")
    rows = [
        ("calls placed", report["calls"]),
        ("connected to an agent", report["outcomes"].get("CONNECTED", 0)),
        ("abandoned", report["outcomes"].get("ABANDONED", 0)),
        ("abandon rate, last 24 h", _pct(report["abandon_rate_24h"])),
        ("abandon rate, last 30 days", _pct(report["abandon_rate_30d"])),
        ("contacts", report["contacts"]),
        ("successes", report["successes"]),
        ("talk minutes per agent-hour", report["talk_minutes_per_agent_hour"]),
        ("average handle time (s)", report["average_handle_time_s"]),
        ("average wait between calls (s)", report["average_wait_between_calls_s"]),
        ("agent hours", report["agent_hours"]),
        ("leads remaining / total", f"{report['leads_remaining']} / {report['leads_total']}"),
        ("list exhaustion", _pct(report["list_exhaustion"])),
    ]
    for k, v in rows:
        summary.add_row(k, str(v))
    console.print(summary)
    for title, data in (("outcomes", report["outcomes"]), ("dispositions", report["dispositions"]),
                        ("refusal reasons", report["refusal_reasons"])):
        if data:
            t = Table(title=title)
            t.add_column(title[:-1])
            t.add_column("count", justify="right")
            for k, v in sorted(data.items(), key=lambda kv: -kv[1]):
                t.add_row(cell(k), str(v))
            console.print(t)
    if report.get("per_hour"):
        t = Table(title="per hour (UTC)")
        for col in ("hour", "calls", "connected", "abandoned", "contacts", "successes"):
            t.add_column(col, justify="right")
        for h in report["per_hour"]:
            t.add_row(h["hour"], *(str(h[k]) for k in ("calls", "connected", "abandoned", "contacts", "successes")))
        console.print(t)
    truth = report.get("simulator_truth")
    if truth:
        console.print(cell("simulator ground truth: " + ", ".join(f"{k} {v}" for k, v in truth.items())))
