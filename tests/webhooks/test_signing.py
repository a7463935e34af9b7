"""Signatures and the retry schedule (pure), with property tests."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from campaigns.integrations import WEBHOOK_EVENTS, parse_webhook, webhook_to_data
from campaigns.parsing import Problems
from dialer.webhooks.signing import SIGNATURE, TIMESTAMP, headers, retry_delay, signature, verify

secrets = st.binary(min_size=1, max_size=64)
bodies = st.binary(max_size=2000)
times = st.integers(min_value=1_000_000_000, max_value=4_000_000_000)


@given(secrets, times, bodies)
def test_a_signed_request_verifies(secret: bytes, ts: int, body: bytes) -> None:
    h = headers(secret, ts, body, event="call.connected", event_id="call-1-connected")
    assert verify(secret, h, body, now=ts)
    assert verify(secret, {k.lower(): v for k, v in h.items()}, body, now=ts + 299)  # any header case


@given(secrets, times, bodies, st.binary(min_size=1, max_size=8))
def test_tampering_is_refused(secret: bytes, ts: int, body: bytes, extra: bytes) -> None:
    h = headers(secret, ts, body, event="e", event_id="i")
    assert not verify(secret, h, body + extra, now=ts)  # another body
    assert not verify(secret + b"x", h, body, now=ts)  # another secret
    assert not verify(secret, {**h, TIMESTAMP: str(ts + 1)}, body, now=ts)  # another time, same signature
    assert not verify(secret, h, body, now=ts + 301)  # too old: a replay
    assert not verify(secret, {**h, TIMESTAMP: "soon"}, body, now=ts)


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    # echo -n '1700000000.{}' | openssl dgst -sha256 -hmac s3cret
    assert signature(b"s3cret", 1700000000, b"{}") == (
        "v1=" + __import__("hmac").new(b"s3cret", b"1700000000.{}", "sha256").hexdigest())
    assert headers(b"k", 1, b"", event="e", event_id="i")[SIGNATURE].startswith("v1=")


@given(st.integers(min_value=1, max_value=10_000))
def test_retry_delay_doubles_up_to_the_cap(attempts: int) -> None:
    d = retry_delay(attempts, 2.0, 3600.0)
    assert 2.0 <= d <= 3600.0
    assert retry_delay(attempts + 1, 2.0, 3600.0) == min(3600.0, 2 * d)


urls = st.sampled_from(["http://crm.example/hook", "https://127.0.0.1:8443/x?y=1"])


@given(urls, st.lists(st.sampled_from(WEBHOOK_EVENTS), min_size=1, unique=True),
       st.floats(min_value=0.1, max_value=120), st.integers(1, 1000))
def test_webhook_settings_round_trip(url: str, events: list[str], timeout: float, attempts: int) -> None:
    problems = Problems()
    hook = parse_webhook({"url": url, "events": events, "secret_env": "CRM_SECRET", "timeout": timeout,
                          "max_attempts": attempts}, problems)
    assert not problems and hook is not None
    assert parse_webhook(webhook_to_data(hook), Problems()) == hook


@given(st.one_of(st.none(), st.integers(), st.text(max_size=20), st.lists(st.text(max_size=5), max_size=3)))
def test_bad_webhook_settings_are_named(value: object) -> None:
    problems = Problems()
    parse_webhook({"url": value, "events": value, "secret_env": "X"}, problems)
    assert any(p.startswith("webhook.url") for p in problems.items)
    problems = Problems()
    parse_webhook({"url": "http://h/x"}, problems)  # no secret
    assert problems.items == ["webhook: give exactly one of secret_env (an environment variable) or secret_file (a path)"]
