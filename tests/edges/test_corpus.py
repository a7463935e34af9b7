"""The bad-input corpus (issue 14): malformed lead files, AMI frames and API requests.

Every case ends in a reasoned rejection or a one-line error: never a traceback, a hang or a
silent loss; every import's counts reconcile. Add a case by dropping a file into
``tests/edges/corpus/csv`` or ``tests/edges/corpus/ami``, or a line to ``REQUESTS``.
"""

from __future__ import annotations

import asyncio
import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dialer.ami.client import AmiClient
from dialer.ami.codec import FrameParser
from dialer.ami.events import QueueMemberStatus
from dialer.cli import main
from tests.ami.fake_ami import FakeAmi
from tests.ami.test_client import Sink
from tests.ami.test_client import settings as ami_settings
from tests.api.conftest import ALICE, BOB, Api, api, settings  # noqa: F401 - fixtures
from tests.api.test_routes import login

CORPUS = Path(__file__).parent / "corpus"
CSVS = sorted((CORPUS / "csv").iterdir())
#: Cases the corpus found that are not fixed yet (strict: a fix turns them into failures to remove).
FRAMES = sorted((CORPUS / "ami").iterdir())  # every one must keep the frame behind it


@pytest.mark.parametrize("path", CSVS, ids=[p.name for p in CSVS])
def test_lead_file(tmp_path: Path, path: Path) -> None:
    copy = tmp_path / path.name
    copy.write_bytes(path.read_bytes())
    env = {"DIALER_DATA_DIR": str(tmp_path / "data"), "DIALER_LOG_LEVEL": "WARNING"}
    r = CliRunner().invoke(main, ["lists", "import", str(copy), "--list", "x", "--region", "US", "--json"], env=env)
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in r.output
    if r.exit_code != 0:  # one line that names the file and says why
        assert r.exit_code == 2 and r.output.startswith("error: ") and r.output.count("\n") == 1, r.output
        assert str(copy) in r.output
        return
    data = json.loads(r.output)
    assert data["rows_read"] > 0
    assert data["rows_read"] == data["imported"] + data["rejected"] + data["duplicates"] + data["dnc"]
    assert sum(data["not_imported"].values()) == data["rows_read"] - data["imported"]
    if data["rows_read"] > data["imported"]:  # every row not imported is in the rejects file, with a reason
        with open(data["rejected_file"], encoding="utf-8-sig", newline="") as fh:
            out = list(csv.reader(fh, delimiter=data["delimiter"]))
        assert len(out) - 1 == data["rows_read"] - data["imported"] and all(row[-1] for row in out[1:])


GOOD = b"Event: QueueMemberStatus\r\nQueue: camp1\r\nInterface: PJSIP/a1\r\nMemberName: alice\r\nStatus: 1\r\nPaused: 0\r\n\r\n"


@pytest.mark.parametrize("path", FRAMES, ids=[p.name for p in FRAMES])
@pytest.mark.parametrize("step", [0, 1, 7])
def test_ami_bytes_through_the_codec(path: Path, step: int) -> None:
    reasons: list[str] = []
    parser = FrameParser(on_error=reasons.append)
    data = b"Asterisk Call Manager/13.0.0\r\n" + path.read_bytes() + GOOD
    frames = []
    for i in range(0, len(data), step or len(data)):
        frames += parser.feed(data[i:i + (step or len(data))])
    good = [f for f in frames if hasattr(f, "get") and f.get("Event") == "QueueMemberStatus"]
    assert len(good) == 1  # the frame behind the bad input is not lost
    assert parser.errors == len(reasons) and all(isinstance(r, str) and r for r in reasons)


@pytest.mark.parametrize("path", FRAMES, ids=[p.name for p in FRAMES])
async def test_ami_bytes_through_the_client(path: Path) -> None:
    async with FakeAmi() as ami:
        sink = Sink()
        async with AmiClient(ami_settings(ami.port, ping_interval=60), sink) as client:
            ami.broadcast(path.read_bytes() + GOOD)
            await asyncio.wait_for(sink.wait_for(QueueMemberStatus, 1), 10)
            assert client.connected and await client.ping() >= 0


DEEP = b"[" * 5000 + b"]" * 5000
REQUESTS = [
    ("POST", "/api/agents/alice/pause", DEEP, ALICE),
    ("POST", "/api/agents/alice/pause", b'{"code": "' + b"A" * 10_000 + b'"}', ALICE),
    ("POST", "/api/agents/alice/pause", b'{"code": "wrapup"}', ALICE),
    ("POST", "/api/agents/alice/pause", b'{"code": "BREAK,X=1"}', ALICE),
    ("POST", "/api/agents/alice/pause", b'{"code": "BREAK\\r\\nAction: Hangup"}', ALICE),
    ("POST", "/api/agents/alice/pause", b'{"code": 12}', ALICE),
    ("POST", "/api/agents/alice/pause", b"\xff\xfe", ALICE),
    ("POST", "/api/agents/alice/pause", b"{nope", ALICE),
    ("POST", "/api/agents/alice/pause", b'{"code": "BREAK"}', BOB),
    ("POST", "/api/agents/alice/pause", b'{"code": "BREAK"}', {"Authorization": "Bearer wrong"}),
    ("POST", "/api/agents/alice/pause", b'{"code": "BREAK"}', {}),
    ("POST", f"/api/calls/{2**63}/disposition".encode().decode(), b'{"code": "SALE"}', ALICE),
    ("POST", "/api/calls/-1/disposition", b'{"code": "SALE"}', ALICE),
    ("POST", "/api/calls/7/disposition", b'{"code": "SALE", "note": "' + b"n" * 200_000 + b'"}', ALICE),
    ("POST", "/api/calls/7/disposition", b'{"code": "SALE", "callback_at": "yesterday"}', ALICE),
    ("POST", "/api/agents/%2e%2e%2fadmin/login", b'{"campaign": "e2e"}', ALICE),
    ("POST", f"/api/agents/{'a' * 5000}/login", b'{"campaign": "e2e"}', ALICE),
    ("GET", "/api/campaigns/..%2f..%2fetc%2fpasswd/why", b"", ALICE),
    ("DELETE", "/api/status", b"", ALICE),
    ("GET", "/api/nothing", b"", ALICE),
]


@pytest.mark.parametrize(("method", "path", "body", "headers"), REQUESTS,
                         ids=[f"{i}-{m} {p[:40]}" for i, (m, p, _b, _h) in enumerate(REQUESTS)])
async def test_hostile_request(api: Api, method: str, path: str, body: bytes, headers: dict) -> None:  # noqa: F811
    await login(api)
    r = await api.client.request(method, path, content=body or None,
                                 headers={**headers, "Content-Type": "application/json"})
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:200])
    assert r.json().get("error"), r.text[:200]
