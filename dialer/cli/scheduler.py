"""``dialer scheduler``: run the scheduled jobs alone — a jobs-only node, no PBX."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket

import click


async def _serve(settings, node: str, catch_up: bool) -> None:
    from dialer.scheduler import JobScheduler

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    jobs = JobScheduler(settings, node=node, role="scheduler", catch_up=catch_up)
    await jobs.start()
    try:
        await stop.wait()
    finally:
        await jobs.stop()  # lets a running job finish and be recorded


@click.command()
@click.option("--node", default=None, help="Node name in job records (default: the host name).")
@click.option("--no-catch-up", is_flag=True, help="Do not run jobs missed while nothing was running.")
@click.pass_obj
def cli(obj, node: str | None, no_catch_up: bool) -> None:
    """Run the scheduled jobs until SIGTERM/SIGINT (graceful: a running job finishes first).

    Safe beside daemons that run the scheduler too: a job runs on one process at a time and
    once per scheduled moment.
    """
    asyncio.run(_serve(obj.settings, node or socket.gethostname(), not no_catch_up))
