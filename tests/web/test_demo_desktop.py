"""``dialer demo`` serves the desktop and the wallboard while it runs, with accounts made for the run."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import httpx

from dialer.cli.demo import desktop_lines
from dialer.demo import DEMO_AGENT, DEMO_SUPERVISOR, DemoOptions, start_demo
from tests.e2e.conftest import E2E_START


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def sign_in(client: httpx.AsyncClient, page: str, name: str, password: str) -> httpx.Response:
    form = await client.get(page)
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    target = page.rsplit("/", 1)[1]
    return await client.post("/signin", data={"name": name, "secret": password, "csrf": csrf, "target": target})


async def test_the_demo_serves_both_pages_and_prints_how(tmp_path: Path) -> None:
    port = _free_port()
    run = await start_demo(DemoOptions(minutes=5, speed=20.0, agents=2, leads=30, seed=3, data_dir=tmp_path / "demo",
                                       start=E2E_START, http_port=port))
    try:
        desk = run.desktop
        assert desk is not None and desk.agent_url == f"http://127.0.0.1:{port}/agent"
        lines = desktop_lines(desk)
        assert desk.agent_url in lines and desk.supervisor_url in lines and desk.password in lines
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", follow_redirects=True) as sup:
            r = await sign_in(sup, desk.supervisor_url, DEMO_SUPERVISOR, desk.password)
            assert r.status_code == 200 and "Wallboard" in r.text
            board = (await sup.get("/web/wallboard")).json()
            assert [c["name"] for c in board["campaigns"]] == [run.definition.name]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", follow_redirects=True) as you:
            r = await sign_in(you, desk.agent_url, DEMO_AGENT, desk.password)
            assert r.status_code == 200 and "Agent desktop" in r.text
            me = (await you.get("/web/me")).json()
            assert me["campaigns"] == [run.definition.name]  # assigned: may log in and take calls
    finally:
        await run.stop()
    # the port is free again once the demo ends
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
