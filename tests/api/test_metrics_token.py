"""``/metrics`` behind an optional bearer token (``[http] metrics_token``); the probes stay open."""

from __future__ import annotations

import pytest

from dialer.api.health import metrics_allowed
from dialer.secrets import Secret
from dialer.settings import Settings


@pytest.fixture
def settings() -> Settings:
    s = Settings()
    s.http.metrics_token = Secret("scrape-me")
    return s


async def test_metrics_ask_for_the_token_when_one_is_set(api) -> None:  # type: ignore[no-untyped-def]
    refused = await api.client.get("/metrics")
    assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")
    assert "scrape-me" not in refused.text
    assert (await api.client.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 401
    ok = await api.client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert ok.status_code == 200 and "dialer_ami_up" in ok.text
    assert (await api.client.get("/healthz")).status_code == 200  # probes never ask


@pytest.mark.parametrize(("token", "header", "allowed"), [
    ("", "", True), ("", "Bearer x", True), ("t", "", False), ("t", "Bearer t", True), ("t", "bearer t", True),
    ("t", "Basic t", False), ("t", "Bearer tt", False), ("t", "Bearer", False),
])
def test_the_bearer_check(token: str, header: str, allowed: bool) -> None:
    assert metrics_allowed(token, header) is allowed
