"""The agent desktop (``/agent``) and the supervisor wallboard (``/supervisor``) in the browser.

Plain HTML, CSS and a little JavaScript in ``static/`` (package data, no build step, nothing
loaded from elsewhere), served by the daemon next to the JSON API, which the pages use as
their back end.  Modules: ``pages`` (routes), ``sessions`` (cookie, CSRF, sign-in check),
``passwords`` (scrypt), ``throttle`` (failed sign-ins), ``events`` (Server-Sent Events from
the engine's listeners), ``wallboard`` (the board's data).  See docs/desktop.md.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dialer.web import pages
from dialer.web.events import EventHub
from dialer.web.throttle import SignInThrottle

#: No inline script or style, nothing from another origin, no framing.
#: ``media-src 'self'``: the wallboard's player of call recordings (/api/calls/{id}/recording).
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; media-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")

ROUTES: list[BaseRoute] = [
    Route("/", lambda request: pages.RedirectResponse("/agent", status_code=307), methods=["GET"]),
    Route("/agent", pages.agent_page, methods=["GET"]),
    Route("/supervisor", pages.supervisor_page, methods=["GET"]),
    Route("/signin", pages.sign_in, methods=["POST"]),
    Route("/signout", pages.sign_out, methods=["POST"]),
    Route("/web/me", pages.me, methods=["GET"]),
    Route("/web/login", pages.campaign_login, methods=["POST"]),
    Route("/web/wallboard", pages.wallboard, methods=["GET"]),
    Route("/web/events", pages.events, methods=["GET"]),
    Route("/web/charts/{campaign}/{kind}.svg", pages.chart, methods=["GET"]),
    Route("/web/agents-report", pages.agents_report, methods=["GET"]),
    Route("/web/agents-report.csv", pages.agents_report, methods=["GET"]),
    Route("/web/recordings", pages.recordings, methods=["GET"]),
    Mount("/static", StaticFiles(directory=pages.STATIC), name="static"),
]


def install(state: Any, engine: Any) -> EventHub:
    """Give the app its event hub (one of the engine's listeners) and sign-in throttle."""
    hub = EventHub()
    listeners = getattr(engine, "listeners", None)
    if listeners is not None:
        listeners.append(hub)
    state.web_hub = hub
    state.web_throttle = SignInThrottle()
    state.web_diagnostics = {}  # campaign -> (read at, callable leads and when the list runs dry)
    state.web_paused = []
    state.web_today = {}  # campaign id -> today's placed, answered, connected, abandoned (from the calls)
    state.web_day = None  # the site's day they are of (ISO date)
    return hub


class SecurityHeaders:
    """A strict Content-Security-Policy and friends on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def add(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
                            (b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"DENY")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, add)


__all__ = ["CSP", "ROUTES", "EventHub", "SecurityHeaders", "install"]
