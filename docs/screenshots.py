"""Take the screenshots of docs/desktop.md and the README from the real pages.

Runs ``dialer demo``'s setup (the simulator in scaled time, the daemon serving the desktop and
the wallboard), signs in to both pages in Chromium (Debian's ``chromium`` through Playwright,
never ``playwright install``), waits for a call on the agent's screen (its number masked, ``[http] screen_number = "last4"``)
and for a few answered calls on the wallboard, and writes
``docs/img/agent.png`` and ``docs/img/supervisor.png``.

    .venv/bin/python docs/screenshots.py
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OUT = ROOT / "docs" / "img"
SIZE = {"width": 1280, "height": 860}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def main() -> None:
    from playwright.async_api import async_playwright

    from dialer.demo import DEMO_AGENT, DEMO_SUPERVISOR, DemoOptions, start_demo

    chromium = os.environ.get("DIALER_CHROMIUM") or shutil.which("chromium")
    if not chromium:
        raise SystemExit("Chromium is needed: apt-get install -y chromium (or set DIALER_CHROMIUM)")
    with tempfile.TemporaryDirectory() as tmp:
        run = await start_demo(DemoOptions(minutes=60, speed=10.0, agents=6, leads=400, seed=11,
                                           data_dir=Path(tmp), http_port=_free_port()))
        desk = run.desktop
        assert desk is not None
        run.settings.http.screen_number = "last4"  # as a call centre runs it (the demo shows full numbers)
        try:
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=chromium, headless=True,
                                                   args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
                sup = await (await browser.new_context(viewport=SIZE)).new_page()
                agent = await (await browser.new_context(viewport=SIZE)).new_page()
                for page, url, name in ((sup, desk.supervisor_url, DEMO_SUPERVISOR), (agent, desk.agent_url, DEMO_AGENT)):
                    await page.goto(url)
                    await page.fill("#name", name)
                    await page.fill("#secret", desk.password)
                    await page.click("#signin")
                await agent.click(f'button[data-campaign="{run.definition.name}"]')  # logged in: ready
                await agent.locator("#call").wait_for(state="visible", timeout=120_000)
                # some calls and answers today, and a pacing decision, on the board
                await sup.wait_for_function("() => Number(document.querySelector('[data-metric=\"answered today\"] .n')"
                                            "?.textContent) >= 3", timeout=120_000)
                await sup.click("#perf-show")
                await sup.wait_for_function("() => [...document.querySelectorAll('img[data-chart]')]"
                                            ".every((i) => i.complete && i.naturalWidth > 0)")
                OUT.mkdir(parents=True, exist_ok=True)
                await agent.screenshot(path=str(OUT / "agent.png"), full_page=True)
                await sup.screenshot(path=str(OUT / "supervisor.png"), full_page=True)
                await browser.close()
        finally:
            await run.stop()
    print(f"wrote {OUT / 'agent.png'} and {OUT / 'supervisor.png'}")


if __name__ == "__main__":
    asyncio.run(main())
