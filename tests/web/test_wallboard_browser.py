"""The wallboard in Chromium: the pacing decision and its reasons, the supply of leads, the
30-day abandon rate, the charts (server-side SVG), agents' performance and its CSV, and the
supervisor's actions (force pause, log out, pause and resume the campaign), each audited."""

from __future__ import annotations

import re

from playwright.async_api import Browser, expect
from sqlalchemy import select

from dialer.models import audit_log
from tests.web.conftest import PASSWORD, Daemon
from tests.web.test_browser import sign_in


async def test_wallboard_figures_charts_performance_and_actions(daemon: Daemon, browser: Browser) -> None:
    engine = daemon.run.engine
    await engine.agent_login("wendy", "web")
    await engine.agent_pause("wendy", "BREAK")
    ctx = await browser.new_context()
    page = await ctx.new_page()
    await sign_in(page, f"{daemon.url}/supervisor", "sam", PASSWORD)
    camp = page.locator('section[data-campaign="web"]')
    await expect(camp).to_be_visible()
    await expect(camp.locator('[data-part="pacing"]')).to_contain_text(re.compile(
        r"Lines wanted now: \d+ \(the policy wants \d+, free lines \d+; limited by \w+"))
    await expect(camp.locator('[data-part="pacing"]')).to_contain_text("abandon budget left")
    await expect(camp.locator('[data-part="supply"]')).to_contain_text(re.compile(r"Callable leads now: \d+ of \d+"))
    await expect(camp.locator('[data-metric="abandon rate 30 days"] .n')).to_have_text(re.compile(r"\d+\.\d\d %"))

    # the charts: SVG from the daemon itself
    await expect(page.locator("img[data-chart]")).to_have_count(4)
    await page.wait_for_function(
        "() => [...document.querySelectorAll('img[data-chart]')].every((i) => i.complete && i.naturalWidth > 0)")
    svg = await page.request.get(f"{daemon.url}/web/charts/web/agents.svg")
    assert svg.ok and svg.headers["content-type"].startswith("image/svg+xml") and b"Agents by state" in await svg.body()

    # force pause with a code, then log out
    row = camp.locator('tr[data-agent="wendy"]')
    await expect(row.locator("td").nth(2)).to_have_text("BREAK")
    await expect(camp.locator('[data-part="force-code"] option')).to_have_text(["BREAK", "LUNCH", "Team meeting"])
    await camp.locator('[data-part="force-code"]').select_option("LUNCH")
    await row.locator('[data-action="force-pause"]').click()
    await expect(page.locator("#notice")).to_have_text("wendy paused (LUNCH).")
    await expect(row.locator("td").nth(2)).to_have_text("LUNCH")

    # agents' performance (time paused by code, from the state log) and its CSV
    await page.click("#perf-show")
    await expect(page.locator('#perf-table tr[data-agent="wendy"]')).to_contain_text("BREAK")
    csv = await page.request.get(f"{daemon.url}/web/agents-report.csv")
    assert csv.ok and csv.headers["content-type"].startswith("text/csv")
    assert (await csv.text()).splitlines()[0].startswith("agent,calls,contacts,successes,conversion")

    await row.locator('[data-action="force-logout"]').click()
    await expect(row).to_have_count(0)

    # pause the campaign, then resume it from the paused list
    await camp.locator('[data-action="pause-campaign"]').click()
    await expect(camp).to_have_count(0)
    await page.click('button[data-resume="web"]')
    await expect(page.locator('section[data-campaign="web"]')).to_be_visible()

    async with engine.db.connect() as conn:
        done = [tuple(r) for r in await conn.execute(
            select(audit_log.c.actor, audit_log.c.action, audit_log.c.target).where(audit_log.c.actor == "sam")
            .order_by(audit_log.c.id))]
    assert done == [("sam", "sign_in", None), ("sam", "force_pause", "wendy"), ("sam", "force_logout", "wendy"),
                    ("sam", "campaign_paused", "web"), ("sam", "campaign_started", "web")]
    # an agent may not read the board's charts or report
    agent = await browser.new_context()
    wendy = await agent.new_page()
    await sign_in(wendy, f"{daemon.url}/agent", "wendy", PASSWORD)
    assert (await wendy.request.get(f"{daemon.url}/web/agents-report")).status == 403
    assert (await wendy.request.get(f"{daemon.url}/web/charts/web/hourly.svg")).status == 403
    await agent.close()
    await ctx.close()


async def test_the_wallboard_lists_and_plays_recordings(daemon: Daemon, browser: Browser, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A recorded call is listed on the wallboard with a player whose source the daemon serves
    (staff only: an agent's session gets 403 for the list)."""
    from sqlalchemy import update

    from dialer.models import calls
    from tests.e2e.conftest import until

    engine = daemon.run.engine
    await engine.agent_login("wendy", "web")
    await engine.agent_ready("wendy")
    await until(lambda: engine.counters["placed"] >= 1, 60, "a call")
    wav = tmp_path / "call.wav"
    wav.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(36))
    async with engine.db.begin() as conn:  # through the daemon's own pool (SQLite: one writer)
        call_id = (await conn.execute(select(calls.c.id).order_by(calls.c.id))).scalar()
        await conn.execute(update(calls).where(calls.c.id == call_id).values(recording_path=str(wav)))
    ctx = await browser.new_context()
    page = await ctx.new_page()
    await sign_in(page, f"{daemon.url}/supervisor", "sam", PASSWORD)
    player = page.locator(f'#recordings-table tr[data-call="{call_id}"] audio')
    await expect(player).to_have_count(1)
    await expect(page.locator("#recordings-none")).to_be_hidden()
    played = await page.request.get(daemon.url + await player.get_attribute("src"))
    assert played.ok and played.headers["content-type"].startswith("audio/") and (await played.body()).startswith(b"RIFF")
    agent = await browser.new_context()
    agent_page = await agent.new_page()
    await sign_in(agent_page, f"{daemon.url}/agent", "wendy", PASSWORD)
    assert (await agent_page.request.get(f"{daemon.url}/web/recordings")).status == 403
    await ctx.close()
    await agent.close()
