"""``dialer run``: the daemon."""

from __future__ import annotations

import asyncio
import socket

import click

from dialer.errors import ConfigError


def check_http_port(host: str, port: int) -> None:
    """Bind the agents' API address for a moment, as uvicorn will (``SO_REUSEADDR``), before
    anything else starts: a port taken is one line and rc 2, not an AMI login, an engine
    start, tracebacks and rc 3."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ConfigError(f"the agents' API cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise ConfigError(f"the agents' API cannot listen on {host}:{port}: {exc.strerror or exc} "
                              "(set [http] port, or --no-http)") from None


@click.command()
@click.option("--node", default=lambda: socket.gethostname(), show_default="host name",
              help="This daemon's name (one per Asterisk server when several share a database).")
@click.option("--no-http", is_flag=True, help="Do not serve the agents' HTTP API.")
@click.option("--drain-timeout", type=float, default=60.0, show_default=True,
              help="On SIGTERM, seconds to wait for calls in flight before exiting.")
@click.option("--speed", type=click.FloatRange(1, 1000), default=1.0, hidden=True,
              help="Scaled time, for use with a simulator run at the same speed.")
@click.pass_obj
def cli(obj, node: str, no_http: bool, drain_timeout: float, speed: float) -> None:
    """Run the dialer daemon.

    Connects to the PBX (settings [ami]; while it cannot be reached, retries with backoff and
    logs each attempt), reconciles calls left in flight by a previous run
    (CoreShowChannels), then dials every active campaign, tracks calls and agents, and
    serves the agents' HTTP API (settings [http]) with /metrics, /healthz and /readyz. Stops
    gracefully on SIGTERM or Ctrl-C: no new calls, a bounded wait for calls in flight,
    everything recorded, exit 0. SIGHUP reloads: logging and job schedules from the settings,
    campaign changes at once.
    """
    from dialer.clock import RealClock, ScaledClock
    from dialer.server import Server
    from dialer.settings import load_settings

    settings = obj.settings
    if not no_http:
        check_http_port(settings.http.host, settings.http.port)
    clock = RealClock() if speed == 1 else ScaledClock(speed)
    server = Server(settings, clock=clock, node=node, http=not no_http, drain_timeout=drain_timeout,
                    reload_settings=lambda: load_settings(obj.config_file))
    asyncio.run(server.serve())
