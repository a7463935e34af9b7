"""The desktop's call tools in Chromium: screen pop history and masking, the wrap-up timer, the
callback picker (and the server's refusal shown beside it), "my callbacks", "do not call me"."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.async_api import Browser, expect
from sqlalchemy import select

from dialer.models import audit_log, calls
from lists.models import dnc_numbers
from tests.web.conftest import PASSWORD, Daemon
from tests.web.test_browser import sign_in


async def test_callback_picker_my_callbacks_and_do_not_call(daemon: Daemon, browser: Browser) -> None:
    ctx = await browser.new_context()
    page = await ctx.new_page()
    await sign_in(page, f"{daemon.url}/agent", "wendy", PASSWORD)
    await page.click('button[data-campaign="web"]')
    await expect(page.locator("#my-callbacks")).to_be_visible()
    await expect(page.locator("#callbacks-empty")).to_be_visible()
    await page.click("#ready")

    # the screen pop: masked number, attempt, last outcomes
    section = page.locator("#call")
    await expect(section).to_be_visible(timeout=20_000)
    await expect(page.locator("#lead-phone")).to_have_text(re.compile(r"^\+•+\d{4}$"))
    await expect(page.locator("#lead-attempt")).to_have_text("1")
    await expect(page.locator("#lead-history li")).to_have_text(["first call"])
    call_id = int(await section.get_attribute("data-call-id"))

    # wrap-up: the timer runs against the limit
    await expect(page.locator("#call-status")).to_have_text("ended — awaiting disposition", timeout=20_000)
    await expect(page.locator("#state")).to_have_text("wrap-up")
    await expect(page.locator("#since")).to_contain_text(" of 10:00")

    # the callback picker offers the lead's calling hours only; a time outside is refused by the server
    await page.click('button[data-code="CALLBACK"]')
    await expect(page.locator("#callback-at option").first).to_be_attached()
    slots = await (await page.request.get(f"{daemon.url}/api/calls/{call_id}/callback-slots?days=7")).json()
    zone = ZoneInfo(slots["zones"][0])
    now = daemon.run.engine.clock.now()
    late = (datetime.combine(now.astimezone(zone).date() + timedelta(days=1), datetime.min.time(), zone)
            .replace(hour=23, minute=30))
    bad = late.astimezone(ZoneInfo("UTC")).isoformat()
    assert bad not in slots["slots"]
    offered = await page.locator("#callback-at option").evaluate_all("(os) => os.map((o) => o.value)")
    assert offered and set(offered) <= set(slots["slots"])
    await page.evaluate("""(v) => { const o = document.createElement('option'); o.value = v; o.textContent = 'late';
                                   document.getElementById('callback-at').appendChild(o); }""", bad)
    await page.select_option("#callback-at", bad)
    await page.click("#submit")
    await expect(page.locator('.field-error[data-for="callback_at"]')).to_contain_text(
        "outside the lead's calling window")
    await page.select_option("#callback-at", index=3)  # about an hour ahead (the clock moves meanwhile)
    await page.click("#submit")
    await expect(page.locator("#notice")).to_have_text("Saved: CALLBACK")
    # my callbacks: the one just booked, due today
    await expect(page.locator("#callbacks-table tbody tr")).to_have_count(1)

    # "do not call me" during the next call: listed at once, disposed DNC, and no wrap-up left
    await expect(section).to_be_visible(timeout=20_000)
    second = int(await section.get_attribute("data-call-id"))
    assert second != call_id
    await page.click("#dnc")
    await expect(page.locator("#notice")).to_contain_text("call disposed DNC")
    await daemon.run.engine.flush()
    async with daemon.run.engine.db.connect() as conn:
        phone, disposition = (await conn.execute(select(calls.c.phone, calls.c.disposition)
                                                 .where(calls.c.id == second))).one()
        listed = (await conn.execute(select(dnc_numbers.c.source).where(dnc_numbers.c.phone == phone))).scalars()
        who = (await conn.execute(select(audit_log.c.actor).where(audit_log.c.action == "dnc_added"))).scalars()
        assert disposition == "DNC" and "agent wendy" in list(listed) and list(who) == ["wendy"]
    # disposed (maybe before the hang-up): the agent is not left in wrap-up, the next call comes
    await expect(section).to_be_visible(timeout=30_000)
    await expect(section).not_to_have_attribute("data-call-id", str(second), timeout=30_000)
    await ctx.close()
