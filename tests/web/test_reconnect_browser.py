"""One agent in two tabs (one session, the same state in both), and a restart of the daemon's
HTTP side during a call: the pages reconnect and show the call awaiting its disposition without
a reload (events sent while they were cut off are lost; the pages read their state again)."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from dialer.web.wallboard import agent_views
from tests.e2e.conftest import until
from tests.web.conftest import PASSWORD, Daemon
from tests.web.test_browser import sign_in


def state_of(daemon: Daemon, name: str) -> str | None:
    return next((a.state for a in agent_views(daemon.run.engine) if a.name == name), None)


async def test_two_tabs_share_the_state_and_a_restart_mid_call_needs_no_reload(daemon: Daemon, browser: Browser) -> None:
    engine = daemon.run.engine
    await engine.agent_login("wendy", "web")  # logged in and paused at once: no call comes yet
    await engine.agent_pause("wendy", "BREAK")
    ctx = await browser.new_context()
    one = await ctx.new_page()
    await sign_in(one, f"{daemon.url}/agent", "wendy", PASSWORD)
    two = await ctx.new_page()  # the same browser, so the same session
    await two.goto(f"{daemon.url}/agent")
    for tab in (one, two):
        await expect(tab.locator("#campaign")).to_have_text("web")
        await expect(tab.locator("#state")).to_have_text("paused (BREAK)")
        await expect(tab.locator("body")).to_have_attribute("data-live", "true")

    # what one tab does, the other shows
    await one.select_option("#pause-code", "Team meeting")
    await one.click("#pause")
    await expect(two.locator("#state")).to_have_text("paused (Team meeting)")

    # the daemon's HTTP side goes away (the streams are cut) and a call connects and ends meanwhile
    await daemon.stop_http(drop=True)
    for tab in (one, two):
        await expect(tab.locator("body")).to_have_attribute("data-live", "false")
    await engine.agent_ready("wendy")
    await until(lambda: state_of(daemon, "wendy") == "wrap_up", 30, "a call connected and ended")
    call_id = engine.agent_by_name("wendy").call_id
    assert call_id is not None
    await daemon.start_http()
    # no reload: each tab reconnects by itself and reads the call again
    for tab in (one, two):
        await expect(tab.locator("body")).to_have_attribute("data-live", "true", timeout=10_000)
        await expect(tab.locator("#call")).to_be_visible()
        await expect(tab.locator("#call")).to_have_attribute("data-call-id", str(call_id))
        await expect(tab.locator("#call-status")).to_have_text("ended — awaiting disposition")
        await expect(tab.locator("#state")).to_have_text("wrap-up")

    # disposed in one tab (a pause first, so no next call comes): gone from the other as well
    await one.click("#pause")
    await one.click('button[data-code="REFUSED"]')
    await one.select_option("#reason", "PRICE")
    await one.click("#submit")
    await expect(one.locator("#notice")).to_have_text("Saved: REFUSED")
    await expect(two.locator("#call")).to_be_hidden()
    await expect(two.locator("#state")).to_have_text("paused (Team meeting)")
    await ctx.close()
