"""The desktop's pure pieces: password hashes, the sign-in throttle, the wallboard's data."""

from __future__ import annotations

from dialer.web.passwords import hash_password, verify_password
from dialer.web.throttle import SignInThrottle
from dialer.web.wallboard import AgentView, board


def test_password_hash_round_trip_and_salted() -> None:
    a, b = hash_password("correct horse"), hash_password("correct horse")
    assert a != b and a.startswith("scrypt$")
    assert verify_password("correct horse", a)
    assert not verify_password("wrong horse", a)
    assert not verify_password("correct horse", None)
    assert not verify_password("correct horse", "sha256$abc")
    assert not verify_password("correct horse", "scrypt$x$y")


def test_throttle_blocks_after_the_limit_until_failures_age_out() -> None:
    t = SignInThrottle(limit=3, window=60.0)
    keys = ("name:alice", "ip:10.0.0.1")
    for i in range(3):
        assert t.retry_after(keys, float(i)) == 0
        t.failed(keys, float(i))
    assert t.retry_after(keys, 3.0) == 57.0
    # another name from the same address is blocked too; the address's failures count
    assert t.retry_after(("name:bob", "ip:10.0.0.1"), 3.0) == 57.0
    assert t.retry_after(("name:bob", "ip:10.0.0.2"), 3.0) == 0
    assert t.retry_after(keys, 60.5) == 0  # the first failure aged out


def test_success_clears_the_name_only() -> None:
    t = SignInThrottle(limit=2, window=60.0)
    t.failed(("name:a", "ip:x"), 0.0)
    t.failed(("name:a", "ip:x"), 1.0)
    t.succeeded("name:a")
    assert t.retry_after(("name:a",), 2.0) == 0
    assert t.retry_after(("ip:x",), 2.0) > 0


def test_board_counts_agents_by_state_with_time_in_state() -> None:
    status = {"link_up": True, "counters": {"placed": 9},
              "campaigns": [{"name": "c", "mode": "progressive", "placed": 9, "ringing": 1, "waiting": 0, "lines": 2,
                             "connected_24h": 4, "abandoned_24h": 1, "abandon_rate_24h": 0.2, "idle_reason": None}]}
    agents = [AgentView("bob", "c", "paused", 90.0, "BREAK", None), AgentView("al", "c", "talking", 70.0, "", 5),
              AgentView("zed", None, "ready", 99.0, None, None)]
    out = board(status, agents, 100.0)
    camp = out["campaigns"][0]
    assert camp["by_state"]["talking"] == 1 and camp["by_state"]["paused"] == 1 and camp["by_state"]["ready"] == 0
    assert [a["name"] for a in camp["agents"]] == ["al", "bob"]
    assert camp["agents"][0] == {"name": "al", "state": "talking", "pause_code": None, "seconds_in_state": 30,
                                 "call_id": 5, "lead": None, "call_seconds": None}
    on_call = AgentView("al", "c", "talking", 70.0, "", 5, "lead 9 +•••••••0143", 64.5)
    assert board(status, [on_call], 100.0)["campaigns"][0]["agents"][0]["call_seconds"] == 36
    assert camp["agents"][1]["pause_code"] == "BREAK"
    assert camp["calls"]["abandoned_24h"] == 1 and camp["abandon_rate_24h"] == 0.2
    assert [a["name"] for a in out["unassigned"]] == ["zed"]


def test_every_web_route_is_documented() -> None:
    from pathlib import Path

    from starlette.routing import Route

    from dialer.web import ROUTES

    docs = (Path(__file__).parents[2] / "docs" / "desktop.md").read_text()
    for route in ROUTES:
        if isinstance(route, Route) and route.path != "/":
            for method in (route.methods or set()) - {"HEAD"}:
                assert f"`{method} {route.path}`" in docs, f"{method} {route.path} missing from docs/desktop.md"


def test_charts_are_svg_with_escaped_labels_and_scaled_bars() -> None:
    import xml.etree.ElementTree as ET

    from dialer.web.charts import bars, line

    svg = bars("Calls <b>", ["08", "09"], {"contacts": [2, 4], "<x>": [1, 0]})
    root = ET.fromstring(svg)  # well-formed: every label escaped
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg" and root.find(f"{ns}title").text == "Calls <b>"
    rects = {(r.get("data-series"), r.get("data-i")): float(r.get("height")) for r in root.iter(f"{ns}rect")
             if r.get("data-series")}
    assert rects[("contacts", "1")] == 2 * rects[("contacts", "0")]  # heights proportional
    assert ("<x>", "1") not in rects  # a zero draws nothing
    stacked = ET.fromstring(bars("s", ["a"], {"x": [1], "y": [3]}, stacked=True))
    ys = sorted(float(r.get("y")) for r in stacked.iter(f"{ns}rect") if r.get("data-series"))
    assert len(ys) == 2 and ys[0] < ys[1]
    rate = ET.fromstring(line("Abandon", ["1", "2", "3"], {"rate": [None, 1.0, 2.0]}, unit=" %", limit=3.0))
    [poly] = list(rate.iter(f"{ns}polyline"))
    assert len(poly.get("points").split()) == 2  # no point where there is no value
    assert any(x.get("stroke-dasharray") for x in rate.iter(f"{ns}line"))  # the limit
