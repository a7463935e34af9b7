"""The daemon's lifecycle (``dialer run``), in the manner of uvicorn's ``Server``.

startup: database (migrated), AMI login, engine start (reconcile calls left in flight), the
agents' HTTP API; main loop: the engine until SIGTERM/SIGINT or :meth:`Server.request_stop`;
SIGHUP (systemd's ``ExecReload``): :meth:`Server.reload`; shutdown: stop placing calls, wait a
bounded time for calls in flight, record everything, close the HTTP API and the AMI link.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dialer.ami.checks import Check
from dialer.ami.client import AmiClient
from dialer.clock import Clock, RealClock
from dialer.db import make_async_engine, open_engine
from dialer.engine import Engine
from dialer.errors import DialerError
from dialer.logs import setup_logging
from dialer.pbx import AmiLink, report_sound, route_to
from dialer.settings import HttpSettings, Settings, changed_keys
from dialer.storage.journal import FILENAME as JOURNAL
from dialer.webhooks.delivery import Deliverer

log = logging.getLogger("dialer.server")


def admin_token(data_dir: Path) -> str:
    """The admin token for the HTTP API, created (mode 0600) on first use."""
    path = data_dir / "admin.token"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    return token


class _QuietUvicorn:
    """uvicorn's Server without its own signal handling (the daemon owns the signals)."""

    def __init__(self, app, http: HttpSettings) -> None:
        import uvicorn

        from dialer.api.serving import uvicorn_limits

        class Server(uvicorn.Server):
            def capture_signals(self):
                return contextlib.nullcontext()

        self.server = Server(uvicorn.Config(app, host=http.host, port=http.port, log_level="warning",
                                            lifespan="off", **uvicorn_limits(http)))
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            if self.task.done():
                self.task.result()  # raises the bind error
                raise OSError("HTTP API did not start")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await self.task


class Server:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        node: str | None = None,
        http: bool = True,
        drain_timeout: float = 60.0,
        pacing_interval: float = 1.0,
        reload_settings: Callable[[], Settings] | None = None,
    ) -> None:
        self.settings = settings
        self.reload_settings = reload_settings  # SIGHUP: the settings read again (None: kept)
        self.clock = clock or RealClock()
        self.node = node or socket.gethostname()
        self.http = http
        self.drain_timeout = drain_timeout
        self.pacing_interval = pacing_interval
        self.engine: Engine | None = None
        self.client: AmiClient | None = None
        self.jobs: Any = None  # the node's JobScheduler while it serves
        self._reloads: set[asyncio.Task] = set()
        self.webhooks: Deliverer | None = None
        self.webhooks_task: asyncio.Task | None = None
        self._stop = asyncio.Event()
        self.started = asyncio.Event()
        self.context = "dialer-connect"  # the dialplan context the Originates go to
        self.sound_checks: list[Check | None] = []  # each login's safe-harbour sound check, in order
        self._sound_tasks: set[asyncio.Task] = set()

    def request_stop(self) -> None:
        self._stop.set()

    def _check_sound_soon(self) -> None:
        """At each AMI login: ask the PBX for the safe-harbour sound, beside the start-up."""
        task = asyncio.get_running_loop().create_task(self._check_sound(), name="sound-check")
        self._sound_tasks.add(task)
        task.add_done_callback(self._sound_tasks.discard)

    async def _check_sound(self) -> None:
        assert self.client is not None
        self.sound_checks.append(await report_sound(self.client, self.context))

    def request_reload(self) -> None:
        task = asyncio.ensure_future(self.reload())
        self._reloads.add(task)
        task.add_done_callback(self._reloads.discard)

    async def reload(self) -> None:
        """Read the settings again and apply what can change without a restart — logging and
        the job schedules — and pick up campaign changes now (they are otherwise picked up
        within 5 s).  AMI, database and HTTP settings need a restart.  A settings file that no
        longer loads is logged and the running settings are kept."""
        if self.reload_settings is not None:
            try:
                fresh = self.reload_settings()
            except DialerError as exc:
                log.error("reload: settings not reloaded, the running ones are kept", extra={"error": str(exc)})
                await self._audit_reload({"kept": True, "error": str(exc)[:200]})
            else:
                changed = changed_keys(self.settings, fresh)
                applied = [k for k in changed if k.split(".")[0] in ("log", "scheduler")]
                setup_logging(fresh.log)
                self.settings.log, self.settings.scheduler = fresh.log, fresh.scheduler
                await self._audit_reload({"applied": applied,
                                          "need_restart": [k for k in changed if k not in applied]})
                if self.jobs is not None and self.engine is not None and not self._stop.is_set():
                    await self.jobs.stop()
                    self.jobs = None
                    await self._start_jobs(self.engine, catch_up=False)
        if self.engine is not None:
            await self.engine.reload_campaigns()
        log.info("reloaded", extra={"node": self.node, "campaigns": len(self.engine.campaigns) if self.engine else 0})

    async def _audit_reload(self, detail: dict[str, Any]) -> None:
        """The audit entry of a settings reload (SIGHUP: the operator, through systemd's
        ExecReload or kill -HUP; who sent the signal is not known to the process)."""
        if self.engine is None:
            return
        from dialer.storage.audit import record_async
        from dialer.vocabulary import AuditAction

        try:
            await record_async(self.engine.db, AuditAction.SETTINGS_RELOADED, "system", target=f"node {self.node}",
                               source="SIGHUP", detail=detail)
        except Exception as exc:  # the reload stands; the entry is logged instead
            log.error("reload: audit entry not written", extra={"error": str(exc)[:200], **detail})

    async def _start_jobs(self, engine: Engine, *, catch_up: bool = True) -> None:
        from dialer.scheduler import JobScheduler  # overnight jobs (docs/scheduler.md)

        assert self.client is not None
        # heartbeats every 30 s of the node's clock (APScheduler counts real seconds)
        self.jobs = JobScheduler(self.settings, node=self.node, clock=self.clock, catch_up=catch_up,
                                 live_calls=lambda: list(engine.live), pbx=self.client.where,
                                 heartbeat_interval=30.0 / self.clock.speed)
        await self.jobs.start()

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        handlers = {signal.SIGTERM: self.request_stop, signal.SIGINT: self.request_stop,
                    signal.SIGHUP: self.request_reload}
        for sig, handler in handlers.items():
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, handler)
        try:
            await self._serve()
        finally:
            for sig in handlers:
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(sig)
            if self._reloads:
                await asyncio.gather(*self._reloads, return_exceptions=True)
            if self.jobs is not None:  # restarted by a reload that raced the shutdown
                await self.jobs.stop()
                self.jobs = None

    async def _connect(self) -> bool:
        """Log in to the PBX, retrying with backoff while it cannot be reached (each attempt
        logged, never the secret); False when a stop is asked for first."""
        assert self.client is not None
        log.info("connecting to the PBX", extra={"ami": self.client.where})
        connect = asyncio.ensure_future(self.client.connect(retry=True))
        stop = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({connect, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if not connect.done():
            connect.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await connect
            log.info("shutdown requested before the PBX could be reached")
            return False
        connect.result()
        return True

    async def _serve(self) -> None:
        url = self.settings.database_url
        open_engine(url).dispose()  # migrations, with a clear error when unreachable
        db = make_async_engine(url)
        ref: list[Engine | None] = [None]
        self.client = AmiClient(self.settings.ami, route_to(ref, on_link_up=self._check_sound_soon))
        api = None
        try:
            if not await self._connect():
                return
            engine = Engine(db, AmiLink(self.client), self.clock, node=self.node, context=self.context,
                            drain_timeout=self.drain_timeout, pacing_interval=self.pacing_interval)
            self.engine = engine
            ref[0] = engine
            await engine.writer.open_journal(self.settings.data_dir / JOURNAL)  # writes kept at the last stop
            await engine.start()
            await self._start_jobs(engine)
            if self.http:
                from dialer.api import create_app

                token = admin_token(self.settings.data_dir)
                api = _QuietUvicorn(create_app(engine, token, settings=self.settings), self.settings.http)
                await api.start()
                log.info("agents' API listening", extra={"http": f"{self.settings.http.host}:{self.settings.http.port}"})
            run = asyncio.create_task(engine.run())
            # The webhook outbox, delivered beside the dialling, never in its way (docs/webhooks.md).
            self.webhooks = Deliverer(db, self.clock, lock=engine._db_lock)
            self.webhooks_task = asyncio.create_task(self.webhooks.run(), name="webhooks")
            self.started.set()
            log.info("dialer running", extra={"node": self.node, "ami": self.client.where})
            stop = asyncio.create_task(self._stop.wait())
            done, _ = await asyncio.wait({run, stop}, return_when=asyncio.FIRST_COMPLETED)
            if run in done:
                run.result()
            log.info("shutdown requested")
            await engine.stop()
            await run
        finally:
            if self.webhooks_task is not None:  # what is not delivered stays in the outbox
                self.webhooks_task.cancel()
                await asyncio.gather(self.webhooks_task, return_exceptions=True)
            if self.jobs is not None:
                await self.jobs.stop()
                self.jobs = None
            if api is not None:
                await api.stop()
            for task in list(self._sound_tasks):
                task.cancel()
            await asyncio.gather(*self._sound_tasks, return_exceptions=True)
            await self.client.close()
            await db.dispose()
