"""``GET /api/calls/{id}/recording``: staff only, the file streamed, clear 404s."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import update

from dialer.claim import calls
from dialer.sim.recording import wav_bytes
from tests.api.conftest import ADMIN, ALICE, Api


async def _store(api: Api, call_id: int, path: str | None) -> None:
    async with api.engine.db.begin() as conn:
        await conn.execute(update(calls).where(calls.c.id == call_id).values(recording_path=path))


async def test_staff_get_the_recording(api: Api, tmp_path: Path) -> None:
    file = tmp_path / "call-7.wav"
    file.write_bytes(wav_bytes(0.05))
    await _store(api, 7, str(file))
    r = await api.client.get("/api/calls/7/recording", headers=ADMIN)
    assert r.status_code == 200
    assert r.content == file.read_bytes()
    assert r.headers["content-type"] == "audio/wav"
    assert r.headers["cache-control"] == "private, no-store"


async def test_agents_and_strangers_do_not(api: Api, tmp_path: Path) -> None:
    file = tmp_path / "call-7.wav"
    file.write_bytes(wav_bytes(0.05))
    await _store(api, 7, str(file))
    r = await api.client.get("/api/calls/7/recording", headers=ALICE)  # alice took the call: still no
    assert r.status_code == 403 and "supervisors" in r.json()["error"]
    r = await api.client.get("/api/calls/7/recording")
    assert r.status_code == 401


async def test_no_recording_is_404(api: Api, tmp_path: Path) -> None:
    r = await api.client.get("/api/calls/8/recording", headers=ADMIN)
    assert r.status_code == 404 and "has no recording" in r.json()["error"]
    await _store(api, 7, str(tmp_path / "gone.wav"))
    r = await api.client.get("/api/calls/7/recording", headers=ADMIN)
    assert r.status_code == 404 and "missing" in r.json()["error"]
    r = await api.client.get("/api/calls/999/recording", headers=ADMIN)
    assert r.status_code == 404


async def test_desktop_sessions_supervisor_yes_agent_no(api: Api, tmp_path: Path) -> None:
    from sqlalchemy import select

    from dialer.models import agents
    from dialer.web.sessions import SESSION_COOKIE, open_session

    file = tmp_path / "call-7.wav"
    file.write_bytes(wav_bytes(0.05))
    await _store(api, 7, str(file))
    async with api.engine.db.begin() as conn:
        await conn.execute(update(agents).where(agents.c.name == "bob").values(role="supervisor"))
        ids = dict((await conn.execute(select(agents.c.name, agents.c.id))).all())
    supervisor, agent = await open_session(api.engine.db, ids["bob"]), await open_session(api.engine.db, ids["alice"])
    api.client.cookies.set(SESSION_COOKIE, supervisor)
    r = await api.client.get("/api/calls/7/recording", headers={"Range": "bytes=0-3"})
    assert r.status_code == 206 and r.content == b"RIFF"  # a player seeks with range requests
    api.client.cookies.set(SESSION_COOKIE, agent)
    r = await api.client.get("/api/calls/7/recording")
    assert r.status_code == 403


def test_the_pages_may_play_recordings() -> None:
    from dialer.web import CSP

    assert "media-src 'self'" in CSP and "default-src 'none'" in CSP
