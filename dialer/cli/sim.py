"""``dialer sim``: run the built-in PBX simulator standalone (AMI on loopback by default)."""

from __future__ import annotations

import asyncio
import logging
import signal

import click

from dialer.errors import DialerError


@click.command()
@click.option(
    "--scenario",
    "scenario_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Scenario TOML (default: the packaged default.toml).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (loopback by default).",
)
@click.option(
    "--port", default=5038, show_default=True, type=int, help="AMI port (0: any free port)."
)
@click.option("--speed", type=float, default=None, help="Run simulated time N times faster.")
@click.option("--seed", type=int, default=None, help="Random seed (overrides the scenario's).")
@click.option(
    "--deterministic",
    is_flag=True,
    default=None,
    help="The number's last digit decides the outcome.",
)
@click.option("--username", default=None, help="AMI username accepted (overrides the scenario's).")
@click.option("--secret", default=None, help="AMI secret accepted (overrides the scenario's).")
@click.option(
    "--stats-every", type=float, default=0.0, help="Log ground-truth counters every N seconds."
)
def cli(
    scenario_file: str | None,
    host: str,
    port: int,
    speed: float | None,
    seed: int | None,
    deterministic: bool | None,
    username: str | None,
    secret: str | None,
    stats_every: float,
) -> None:
    """Run the PBX simulator: an AMI server that behaves like the recorded Asterisk.

    Signals: SIGINT/SIGTERM stop it; SIGUSR1 drops every client connection; SIGUSR2 restarts
    the PBX (calls in progress vanish); SIGHUP freezes action handling for 10 seconds.
    """
    from dialer.sim import Simulator, load_scenario, start_server

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    scenario = load_scenario(scenario_file)
    sim = Simulator(
        scenario,
        speed=speed,
        seed=seed,
        deterministic=deterministic,
        username=username,
        secret=secret,
    )

    async def run() -> None:
        try:
            server = await start_server(sim, host, port)
        except OSError as exc:  # the port taken, an address not on this machine
            raise DialerError(f"the simulator cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        sc = sim.scenario
        click.echo(
            f"dialer sim: AMI on {host}:{server.port} (scenario {sc.name}, speed {sc.speed:g}, "
            f"seed {sc.seed}{', deterministic' if sc.deterministic else ''})",
            err=True,
        )
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        loop.add_signal_handler(signal.SIGUSR1, server.drop_connections)
        loop.add_signal_handler(signal.SIGUSR2, lambda: loop.create_task(server.restart()))
        loop.add_signal_handler(signal.SIGHUP, lambda: server.freeze(10.0))
        if stats_every > 0:

            async def report() -> None:
                while True:
                    await asyncio.sleep(stats_every)
                    logging.getLogger("dialer.sim").info(
                        "sim stats: active=%d %s", sim.active_calls(), sim.stats.as_dict()
                    )

            reporter = loop.create_task(report())
        await stop.wait()
        if stats_every > 0:
            reporter.cancel()
        await server.close()
        click.echo(f"dialer sim: stopped; {sim.stats.as_dict()}", err=True)

    asyncio.run(run())
