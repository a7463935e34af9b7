"""``dialer scheduler``: run the scheduled jobs alone — a jobs-only node, no PBX."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket

import click

log = logging.getLogger("dialer.scheduler")


async def _serve(settings, node: str, catch_up: bool, reload_settings=None) -> None:
    """Run the jobs until SIGTERM/SIGINT; on SIGHUP, read the settings again (``reload_settings``)
    and restart the scheduler with the new schedules (a running job finishes first)."""
    from dialer.errors import DialerError
    from dialer.logs import setup_logging
    from dialer.scheduler import JobScheduler

    stop, reload = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()
    handlers = {signal.SIGTERM: stop.set, signal.SIGINT: stop.set, signal.SIGHUP: reload.set}
    for sig, handler in handlers.items():
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, handler)
    jobs = JobScheduler(settings, node=node, role="scheduler", catch_up=catch_up)
    await jobs.start()
    try:
        while not stop.is_set():
            waits = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(reload.wait())}
            _, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
            if stop.is_set() or not reload.is_set():
                break
            reload.clear()
            try:
                settings = reload_settings() if reload_settings else settings
            except DialerError as exc:
                log.error("reload: settings not reloaded, the running ones are kept", extra={"error": str(exc)})
                continue
            setup_logging(settings.log)
            await jobs.stop()
            jobs = JobScheduler(settings, node=node, role="scheduler", catch_up=False)
            await jobs.start()
            log.info("reloaded", extra={"node": node})
    finally:
        await jobs.stop()  # lets a running job finish and be recorded


@click.command()
@click.option("--node", default=None, help="Node name in job records (default: the host name).")
@click.option("--no-catch-up", is_flag=True, help="Do not run jobs missed while nothing was running.")
@click.pass_obj
def cli(obj, node: str | None, no_catch_up: bool) -> None:
    """Run the scheduled jobs until SIGTERM/SIGINT (graceful: a running job finishes first).

    Safe beside daemons that run the scheduler too: a job runs on one process at a time and
    once per scheduled moment. SIGHUP reads the settings again and applies the new schedules.
    """
    from dialer.settings import load_settings

    asyncio.run(_serve(obj.settings, node or socket.gethostname(), not no_catch_up,
                       lambda: load_settings(obj.config_file)))
