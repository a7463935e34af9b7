"""The agent desktop and the wallboard in real Chromium against the daemon and the simulator."""

from __future__ import annotations

import re

from playwright.async_api import Browser, Page, expect
from sqlalchemy import select

from dialer.models import calls
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

    # the supervisor's wallboard, in its own browser context
    sup_ctx = await browser.new_context()
    board = await sup_ctx.new_page()
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
    await expect(board.locator('tr[data-agent="wendy"]')).to_have_attribute("data-state", "paused")
    await expect(board.locator('tr[data-agent="wendy"] td').nth(2)).to_have_text("LUNCH")
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
    await expect(board.locator('tr[data-agent="wendy"]')).to_have_attribute("data-state", re.compile("talking|wrap_up"))
    # the current call's lead (number masked) and how long it has lasted
    await expect(board.locator('tr[data-agent="wendy"] [data-part="call"]')).to_have_text(
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
    await expect(board.locator('tr[data-agent="wendy"]')).to_have_count(0)
    for ctx in (stale, sup_ctx, agent_ctx):
        await ctx.close()
