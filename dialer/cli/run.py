"""``dialer run``: the daemon."""

from __future__ import annotations

import asyncio
import socket

import click


@click.command()
@click.option("--node", default=lambda: socket.gethostname(), show_default="host name",
              help="This daemon's name (one per Asterisk server when several share a database).")
@click.option("--no-http", is_flag=True, help="Do not serve the agents' HTTP API.")
@click.option("--drain-timeout", type=float, default=60.0, show_default=True,
              help="On SIGTERM, seconds to wait for calls in flight before exiting.")
@click.option("--speed", type=click.FloatRange(1, 1000), default=1.0, hidden=True,
              help="Scaled time, for use with a simulator run at the same speed.")
@click.pass_obj
def cli(obj, node: str, no_http: bool, drain_timeout: float, speed: float) -> None:  # noqa: ANN001
    """Run the dialer daemon.

    Connects to the PBX (settings [ami]), reconciles calls left in flight by a previous run
    (CoreShowChannels), then dials every active campaign, tracks calls and agents, and
    serves the agents' HTTP API (settings [http]). Stops gracefully on SIGTERM or Ctrl-C:
    no new calls, a bounded wait for calls in flight, everything recorded, exit 0.
    """
    from dialer.clock import RealClock, ScaledClock
    from dialer.server import Server

    settings = obj.settings
    clock = RealClock() if speed == 1 else ScaledClock(speed)
    server = Server(settings, clock=clock, node=node, http=not no_http, drain_timeout=drain_timeout)
    asyncio.run(server.serve())
