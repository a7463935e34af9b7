"""The agent desktop and the wallboard in real Chromium against the daemon and the simulator."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.async_api import Browser, Page, expect
from sqlalchemy import insert, select, update

from dialer.models import calls
from lists.models import leads
from tests.web.conftest import HOSTILE, PASSWORD, Daemon

POP_BUDGET_MS = 500.0


async def sign_in(page: Page, url: str, name: str, secret: str) -> None:
    await page.goto(url)
    await page.fill("#name", name)
    await page.fill("#secret", secret)
    await page.click("#signin")


async def dispose_stored(daemon: Daemon, call_id: int) -> tuple:
    await daemon.run.engine.flush()
    async with daemon.run.engine.db.connect() as conn:
        return tuple((await conn.execute(select(calls.c.disposition, calls.c.refusal_reason, calls.c.order_form)
                                         .where(calls.c.id == call_id))).one())


#: The leads' zone here: its calling window (08:00-21:00) is open at the tests' start (09:00 there).
ZONE = "America/Chicago"


async def callbacks_booked(daemon: Daemon) -> None:
    """Every lead had a call that booked a callback for now, with a note (the daemon may already
    hold some leads claimed: whichever the agent gets is one), custom fields, and :data:`ZONE`."""
    engine = daemon.run.engine
    now = engine.clock.now()
    async with engine._db_lock, engine.db.begin() as conn:  # beside the running daemon (one SQLite writer)
        await conn.execute(update(leads).values(timezones=ZONE, custom={"Contract Id": "C-42", "current_plan": "Basic"}))
        await conn.execute(insert(calls), [{
            "campaign_id": next(iter(engine.campaigns)), "lead_id": lead.id, "phone": lead.phone, "attempt": 1,
            "node": "n", "status": "ended", "outcome": "CONNECTED", "disposition": "CALLBACK", "ring_timeout": 15,
            "agent": "wendy", "placed_at": now - timedelta(days=1), "connected_at": now - timedelta(days=1),
            "callback_at": now - timedelta(minutes=1), "note": "after lunch, ask for Mary"}
            for lead in await conn.execute(select(leads.c.id, leads.c.phone))])


def local_times(zone: str) -> set[str]:
    """The browser's wall-clock time in ``zone`` as the desktop shows it (this minute or the next)."""
    now = datetime.now(ZoneInfo(zone))
    return {f"{(now + timedelta(minutes=m)):%H:%M} {zone}" for m in (0, 1)}


async def test_sign_in_is_protected(daemon: Daemon, browser: Browser) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    # a forged form (no sign-in cookie to match) is refused
    forged = await context.request.post(f"{daemon.url}/signin", form={"name": "wendy", "secret": PASSWORD,
                                                                      "csrf": "forged"}, max_redirects=0)
    assert forged.status == 403
    # wrong secrets are throttled after five failures, even with the right one afterwards
    for _ in range(5):
        await sign_in(page, f"{daemon.url}/agent", "wendy", "wrong-secret")
        await expect(page.locator("#message")).to_contain_text("wrong secret")
    response = await page.request.get(f"{daemon.url}/agent")  # a fresh form for the next try
    assert response.ok
    await sign_in(page, f"{daemon.url}/agent", "wendy", PASSWORD)
    await expect(page.locator("#message")).to_contain_text("Too many failed sign-ins")
    await context.close()


async def test_desktop_call_flow_and_wallboard(daemon: Daemon, browser: Browser) -> None:
    await callbacks_booked(daemon)
    agent_ctx = await browser.new_context()
    page = await agent_ctx.new_page()
    await sign_in(page, f"{daemon.url}/agent", "wendy", PASSWORD)
    cookie = next(c for c in await agent_ctx.cookies() if c["name"] == "dialer_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    # CSRF: a state change through the API with the cookie but no token is refused
    refused = await page.request.post(f"{daemon.url}/api/agents/wendy/ready", data="{}")
    assert refused.status == 403
    # another agent's session is refused by the API
    assert (await page.request.get(f"{daemon.url}/api/agents/agent-x/call")).status == 403

    # the supervisor's wallboard, in its own browser context (its rows of agents: the campaign's)
    sup_ctx = await browser.new_context()
    board = await sup_ctx.new_page()
    wendy_row = board.locator('section[data-campaign="web"] tr[data-agent="wendy"]')
    await sign_in(board, f"{daemon.url}/supervisor", "sam", PASSWORD)
    await expect(board.locator('section[data-campaign="web"]')).to_be_visible()
    # an agent may not open the wallboard
    assert (await page.request.get(f"{daemon.url}/web/wallboard")).status == 403

    # campaign choice, then pause and ready
    await page.click('button[data-campaign="web"]')
    await expect(page.locator("#campaign")).to_have_text("web")
    await expect(page.locator("#pause")).to_be_enabled()
    await expect(page.locator("#choose")).to_be_hidden()
    # the pause codes offered are the campaign's own (pause_codes), not the defaults
    await expect(page.locator("#pause-code option")).to_have_text(["BREAK", "LUNCH", "Team meeting"])
    await page.select_option("#pause-code", "LUNCH")
    await page.click("#pause")
    await expect(page.locator("#state")).to_have_text("paused (LUNCH)")
    await expect(wendy_row).to_have_attribute("data-state", "paused")
    await expect(wendy_row.locator("td").nth(2)).to_have_text("LUNCH")
    await page.click("#ready")

    # a call connects: the screen pop is pushed, escaped, within the budget
    section = page.locator("#call")
    await expect(section).to_be_visible(timeout=20_000)
    await expect(page.locator("#lead-name")).to_contain_text(HOSTILE)
    assert await page.evaluate("window.pwned") is None
    assert await page.locator("#lead-name img").count() == 0
    await expect(page.locator("#script")).to_contain_text(f"Hello {HOSTILE}, about your")
    latency = float(await section.get_attribute("data-popped-at")) - float(await section.get_attribute("data-sent-at"))
    assert latency < POP_BUDGET_MS, f"screen pop took {latency:.0f} ms from the connect event"
    # connected (the call's row may not say so yet: the daemon writes in batches); it lasts 4 s here
    assert await page.locator("#call-status").text_content() == "connected"
    # the callback banner with the note, the custom fields, the lead's local time
    await expect(page.locator("#callback-banner")).to_be_visible()
    await expect(page.locator("#callback-banner")).to_have_text(re.compile(
        r"^Callback asked for \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d.*: after lunch, ask for Mary$"))
    fields = await page.locator("#lead-fields").evaluate(
        "(dl) => Object.fromEntries([...dl.querySelectorAll('dt')].map((dt) => [dt.textContent, dt.nextElementSibling.textContent]))")
    assert fields["Contract Id"] == "C-42" and fields["contract_id"] == "C-42" and fields["current_plan"] == "Basic"
    assert await page.locator("#lead-time").text_content() in local_times(ZONE)
    await expect(wendy_row).to_have_attribute("data-state", re.compile("talking|wrap_up"))
    # the current call's lead (number masked) and how long it has lasted
    await expect(wendy_row.locator('[data-part="call"]')).to_have_text(
        re.compile(r"^lead \d+ \+•+\d{4} · \d+:\d\d$"))
    call_id = int(await section.get_attribute("data-call-id"))

    # a reload mid-call keeps the call
    await page.reload()
    await expect(page.locator("#call")).to_be_visible()
    await expect(page.locator("#call")).to_have_attribute("data-call-id", str(call_id))

    # a refusal needs a reason (keyboard shortcut 2 picks REFUSED)
    await page.locator("body").press("2")
    await expect(page.locator('button[data-code="REFUSED"]')).to_have_attribute("aria-pressed", "true")
    await page.click("#submit")
    await expect(page.locator('.field-error[data-for="reason"]')).to_have_text("A refusal needs a reason.")
    await page.select_option("#reason", "PRICE")
    # (disposed once the customer has hung up: a disposition during the talk leaves the agent in
    # wrap-up until its limit — see the report)
    await expect(page.locator("#call-status")).to_have_text("ended — awaiting disposition", timeout=20_000)
    await page.click("#submit")
    await expect(page.locator("#notice")).to_have_text("Saved: REFUSED")
    assert await dispose_stored(daemon, call_id) == ("REFUSED", "PRICE", None)

    # the next call: a sale with its order form (the server checks the required field)
    await expect(section).to_be_visible(timeout=20_000)
    second = int(await section.get_attribute("data-call-id"))
    assert second != call_id
    await page.click('button[data-code="SALE"]')
    await expect(page.locator("#call-status")).to_have_text("ended — awaiting disposition", timeout=20_000)
    await page.click("#submit")
    await expect(page.locator('.field-error[data-for="order"]')).to_contain_text("plan")
    await page.select_option('[data-field="plan"]', "Plus")
    await expect(page.locator("#call-status")).to_have_text("ended — awaiting disposition", timeout=20_000)
    await page.click("#submit")
    await expect(page.locator("#notice")).to_have_text("Saved: SALE")
    assert await dispose_stored(daemon, second) == ("SALE", None, {"plan": "Plus"})

    # the wallboard's counts (today's, from the calls table) and the abandon rate (the engine's)
    status = next(c for c in daemon.run.engine.status()["campaigns"] if c["name"] == "web")
    placed = board.locator('[data-metric="placed today"] .n')
    await expect(placed).to_have_text(re.compile(r"\d+"))
    # the board is pushed every few seconds: wait for the update that shows both calls
    await expect(placed).not_to_have_text(re.compile(r"^\s*[01]\s*$"))
    await expect(board.locator('[data-metric="answered today"] .n')).not_to_have_text(re.compile(r"^\s*[01]\s*$"))
    assert int(await placed.text_content()) >= 2
    answered = int(await board.locator('[data-metric="answered today"] .n').text_content())
    assert 2 <= answered <= int(await placed.text_content())
    rate = f"{100 * status['abandon_rate_24h']:.2f} %"
    await expect(board.locator('[data-metric="abandon rate 24 h"] .n')).to_have_text(rate)

    # sign-out ends the session (the old cookie no longer works) and logs the agent out
    await page.click("#pause")
    await page.click("#signout")
    await expect(page.locator("#signin")).to_be_visible()
    stale = await browser.new_context()
    await stale.add_cookies([{**cookie}])
    assert (await stale.request.get(f"{daemon.url}/web/me")).status == 401
    await expect(wendy_row).to_have_count(0)
    for ctx in (stale, sup_ctx, agent_ctx):
        await ctx.close()
