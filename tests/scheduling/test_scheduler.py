"""The scheduler on a manual clock: runs recorded, missed runs caught up once, one run per
scheduled moment across processes (PostgreSQL advisory lock), APScheduler really firing."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from dialer.clock import ManualClock
from dialer.db import open_engine
from dialer.job_models import job_runs
from dialer.scheduler import (
    JobRunner,
    JobScheduler,
    RunOutcome,
    job_lock,
    job_schedules,
    make_trigger,
    previous_fire_time,
)
from dialer.services import jobs as jobs_mod
from dialer.services.jobs import JOBS, JobContext, JobResult, JobSpec
from dialer.settings import Settings
from tests.scheduling.helpers import aware, campaign, lead, lead_list, lead_row

NIGHT = datetime(2026, 11, 23, 2, 30, 5, tzinfo=UTC)  # just after the 02:30 recycle


def _settings(url: str, tmp_path: Path, **jobs: str) -> Settings:
    s = Settings()
    s.database.url = url
    s.data_dir = tmp_path
    s.scheduler.jobs = dict(jobs)
    return s


def _runs(engine, job: str | None = None) -> list:
    with engine.connect() as conn:
        q = select(job_runs).order_by(job_runs.c.id)
        if job:
            q = q.where(job_runs.c.job == job)
        return conn.execute(q).all()


def test_schedules_from_settings(tmp_path: Path) -> None:
    s = _settings("sqlite://", tmp_path, recycle="0 4 * * *", tz_refresh="")
    schedules = job_schedules(s)
    assert schedules["recycle"] == "0 4 * * *"
    assert "tz_refresh" not in schedules  # "" disables
    assert schedules["purge_stale_claims"] == JOBS["purge_stale_claims"].cron
    with pytest.raises(Exception, match="unknown job"):
        job_schedules(_settings("sqlite://", tmp_path, nightly="0 1 * * *"))
    trig = make_trigger("30 2 * * *", "UTC")
    assert previous_fire_time(trig, NIGHT) == datetime(2026, 11, 23, 2, 30, tzinfo=UTC)
    assert previous_fire_time(trig, NIGHT - timedelta(minutes=1)) == datetime(2026, 11, 22, 2, 30, tzinfo=UTC)


async def test_nightly_recycle_runs_and_is_recorded(sqlite_url: str, tmp_path: Path) -> None:
    engine = open_engine(sqlite_url)
    cid = campaign(engine, "a")
    lst = lead_list(engine, "l", cid)
    owned = lead(engine, lst, "+12125550101", status="callback", next_call_at=NIGHT - timedelta(hours=3),
                 callback_owner="alice", callback_exclusive_until=NIGHT - timedelta(hours=2))
    still_owned = lead(engine, lst, "+12125550102", status="callback", next_call_at=NIGHT + timedelta(hours=8),
                       callback_owner="bob", callback_exclusive_until=NIGHT + timedelta(hours=9))
    no_time = lead(engine, lst, "+12125550103", status="retry", next_call_at=None)
    blocked = lead(engine, lst, "+12125550104")
    from lists.dnc import add_numbers

    with engine.begin() as conn:
        add_numbers(conn, ["+12125550104"], None, source="test")
    clock = ManualClock(NIGHT)
    sched = JobScheduler(_settings(sqlite_url, tmp_path), node="n1", clock=clock, engine=engine, catch_up=False)
    await sched.start()
    try:
        outcome = await sched.fire("recycle")
    finally:
        await sched.stop()
    assert outcome.result == "ok", outcome.message
    assert outcome.counts["callbacks_released"] == 1
    assert outcome.counts["due_times_set"] == 1
    assert outcome.counts["dnc_swept"] == 1
    assert lead_row(engine, owned).callback_owner is None
    assert lead_row(engine, still_owned).callback_owner == "bob"
    assert aware(lead_row(engine, no_time).next_call_at) == NIGHT
    assert lead_row(engine, blocked).status == "dnc"
    (run,) = _runs(engine, "recycle")
    assert (run.node, run.trigger, run.result) == ("n1", "cron", "ok")
    assert aware(run.scheduled_for) == datetime(2026, 11, 23, 2, 30, tzinfo=UTC)
    assert aware(run.started_at) == NIGHT and run.finished_at is not None
    assert run.counts["callbacks_released"] == 1
    engine.dispose()


async def test_missed_run_is_caught_up_once_at_start(sqlite_url: str, tmp_path: Path) -> None:
    engine = open_engine(sqlite_url)
    clock = ManualClock(NIGHT)
    settings = _settings(sqlite_url, tmp_path)
    runner = JobRunner(engine, data_dir=tmp_path, node="n1", clock=clock)
    assert runner.run("tz_refresh", trigger="cron", scheduled_for=datetime(2026, 11, 23, 3, 15, tzinfo=UTC)).ran
    assert runner.run("recycle", trigger="cron", scheduled_for=datetime(2026, 11, 23, 2, 30, tzinfo=UTC)).ran
    # Nothing runs for two and a half days: two 02:30 recycles and two 03:15 zone checks missed.
    clock.set(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
    sched = JobScheduler(settings, node="n2", clock=clock, engine=engine, catch_up=False)
    await sched.start()
    try:
        first = await sched.catch_up()
        again = await sched.catch_up()
    finally:
        await sched.stop()
    caught = {o.job: o for o in first}
    # Jobs that never ran are not caught up (nothing says they were due); the others run once.
    assert set(caught) == {"recycle", "tz_refresh"}
    assert all(o.result == "ok" for o in first)
    assert again == []
    recycles = _runs(engine, "recycle")
    assert len(recycles) == 2
    assert recycles[-1].trigger == "catch-up" and recycles[-1].node == "n2"
    assert aware(recycles[-1].scheduled_for) == datetime(2026, 11, 25, 2, 30, tzinfo=UTC)
    engine.dispose()


async def test_catch_up_runs_in_the_background_at_start(sqlite_url: str, tmp_path: Path) -> None:
    engine = open_engine(sqlite_url)
    clock = ManualClock(NIGHT - timedelta(days=1))
    JobRunner(engine, data_dir=tmp_path, node="n1", clock=clock).run("recycle", trigger="cron")
    clock.set(NIGHT)
    sched = JobScheduler(_settings(sqlite_url, tmp_path), node="n1", clock=clock, engine=engine)
    await sched.start()
    await sched.stop()  # waits for the catch-up in progress
    assert [r.trigger for r in _runs(engine, "recycle")] == ["cron", "catch-up"]
    engine.dispose()


async def test_apscheduler_fires_the_job(sqlite_url: str, tmp_path: Path) -> None:
    engine = open_engine(sqlite_url)
    sched = JobScheduler(_settings(sqlite_url, tmp_path), node="n1", clock=ManualClock(NIGHT), engine=engine,
                         catch_up=False)
    fired: asyncio.Queue[RunOutcome] = asyncio.Queue()
    fire = sched.fire

    async def fire_and_tell(name: str) -> RunOutcome:
        outcome = await fire(name)
        fired.put_nowait(outcome)
        return outcome

    sched.fire = fire_and_tell  # type: ignore[method-assign]  # what start() hands APScheduler
    await sched.start()
    try:
        assert set(sched.next_runs()) == set(JOBS)
        sched.aps.modify_job("tz_refresh", next_run_time=datetime.now(UTC))
        outcome = await asyncio.wait_for(fired.get(), 10)
    finally:
        await sched.stop()
    assert outcome.job == "tz_refresh" and outcome.result == "ok"
    (run,) = _runs(engine, "tz_refresh")
    assert run.trigger == "cron" and run.result == "ok"
    engine.dispose()


def test_failed_job_is_recorded(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(ctx) -> JobResult:
        raise RuntimeError("disk full")

    monkeypatch.setitem(jobs_mod.JOBS, "recycle", JobSpec("recycle", boom, "30 2 * * *", "x"))
    engine = open_engine(sqlite_url)
    outcome = JobRunner(engine, data_dir=tmp_path, node="n1", clock=ManualClock(NIGHT)).run("recycle")
    assert outcome.result == "error" and "disk full" in outcome.message
    (run,) = _runs(engine)
    assert run.result == "error" and "disk full" in run.message and run.finished_at is not None
    engine.dispose()


class HeldJob:
    """A job that runs until the test lets it finish (it runs in the scheduler's worker thread)."""

    def __init__(self) -> None:
        self.nodes: list[str] = []
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self, ctx: JobContext) -> JobResult:
        self.nodes.append(ctx.node)
        self.started.set()
        if not self.release.wait(30):
            raise RuntimeError("the test never released the job")
        return JobResult({"n": 1}, "held")


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_two_schedulers_run_a_job_once(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = request.getfixturevalue(f"{backend}_url")
    job = HeldJob()
    monkeypatch.setitem(jobs_mod.JOBS, "recycle", JobSpec("recycle", job, "30 2 * * *", "x"))
    e1, e2 = open_engine(url), open_engine(url)  # two processes: two engines, two pools
    clock = ManualClock(NIGHT)
    a = JobScheduler(_settings(url, tmp_path), node="a", clock=clock, engine=e1, catch_up=False)
    b = JobScheduler(_settings(url, tmp_path), node="b", clock=clock, engine=e2, catch_up=False)
    await a.start()
    await b.start()
    try:
        # Both fire the 02:30 run: b fires while a's run is in progress and finds it locked.
        first = asyncio.create_task(a.fire("recycle"))
        assert await asyncio.to_thread(job.started.wait, 10)
        locked = await b.fire("recycle")
        job.release.set()
        done = await first
        # b fires again late, after a finished: already run for 02:30, skipped.
        clock.advance(20)
        late = await b.fire("recycle")
    finally:
        job.release.set()
        await a.stop()
        await b.stop()
    assert done.result == "ok"
    assert locked.result == "skipped" and "another process" in locked.message
    assert late.result == "skipped" and "already run" in late.message
    assert job.nodes == ["a"]
    assert len(_runs(e1, "recycle")) == 1
    # A manual run is never skipped as "already run".
    runner = JobRunner(e2, data_dir=tmp_path, node="b", clock=clock)
    assert runner.run("recycle").result == "ok"
    e1.dispose()
    e2.dispose()


def test_advisory_lock_excludes_other_connections(postgres_url: str, tmp_path: Path) -> None:
    e1, e2 = open_engine(postgres_url), open_engine(postgres_url)
    with job_lock(e1, "recycle", tmp_path) as got:
        assert got
        with job_lock(e2, "recycle", tmp_path) as other:
            assert not other
        with job_lock(e2, "dnc_refresh", tmp_path) as different_job:
            assert different_job
    with job_lock(e2, "recycle", tmp_path) as after:
        assert after
    e1.dispose()
    e2.dispose()


def test_sqlite_file_lock_excludes_a_second_holder(sqlite_url: str, tmp_path: Path) -> None:
    e = open_engine(sqlite_url)
    with job_lock(e, "recycle", tmp_path) as got, job_lock(e, "recycle", tmp_path) as other:
        assert got and not other
    with job_lock(e, "recycle", tmp_path) as after:
        assert after
    e.dispose()


async def test_scheduler_command_stops_on_sigterm(sqlite_url: str, tmp_path: Path) -> None:
    import os
    import signal

    from dialer.cli.scheduler import _serve

    settings = _settings(sqlite_url, tmp_path)
    task = asyncio.create_task(_serve(settings, "jobs-node", False))
    engine = open_engine(sqlite_url)
    heartbeat = jobs_mod.heartbeats
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.execute(select(heartbeat.c.node)).first():
                break
        await asyncio.sleep(0.02)
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(task, 5)
    with engine.connect() as conn:
        assert conn.execute(select(heartbeat.c.role)).scalar() == "scheduler"
    engine.dispose()


async def test_scheduler_command_reloads_its_schedules_on_sighup(sqlite_url: str, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """systemd's ExecReload sends SIGHUP: the settings are read again and the jobs rescheduled;
    a settings file that no longer loads keeps the running ones."""
    import os
    import signal

    import dialer.scheduler as scheduler_mod
    from dialer.cli.scheduler import _serve
    from dialer.errors import ConfigError

    started: list[dict[str, str]] = []

    class Recording(scheduler_mod.JobScheduler):
        async def start(self) -> None:
            await super().start()
            started.append(dict(self.schedules))

    monkeypatch.setattr(scheduler_mod, "JobScheduler", Recording)
    answers: list[Settings | Exception] = [ConfigError("site.toml: not valid TOML"),
                                           _settings(sqlite_url, tmp_path, recycle="")]

    def reload_settings() -> Settings:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    task = asyncio.create_task(_serve(_settings(sqlite_url, tmp_path), "jobs-node", False, reload_settings))

    async def wait_for(condition, what: str) -> None:
        deadline = time.monotonic() + 10
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            await asyncio.sleep(0.02)

    await wait_for(lambda: len(started) == 1, "the scheduler to start")
    assert "recycle" in started[0]
    os.kill(os.getpid(), signal.SIGHUP)  # the bad settings file: kept running as it was
    await wait_for(lambda: len(answers) == 1, "the first reload")
    os.kill(os.getpid(), signal.SIGHUP)
    await wait_for(lambda: len(started) == 2, "the scheduler to restart")
    assert "recycle" not in started[1] and not task.done()
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(task, 5)
