"""A campaign's [recording] and [webhook] tables: parsed, stored and read back, errors named."""

from __future__ import annotations

import pytest

from campaigns.definition import (
    CampaignDefinitionError,
    definition_from_data,
    definition_to_data,
    loads_definition,
)

BASE = """
name = "c"
[dial]
trunk = "PJSIP/{number}@t"
queue = "c"
"""


def test_recording_and_webhook_round_trip() -> None:
    d = loads_definition(BASE + """
[recording]
retention_days = 30
[webhook]
url = "https://crm.example/dialer"
secret_env = "CRM_SECRET"
events = ["call.disposed", "lead.finished"]
""", "c.toml")
    assert d.recording.enabled and d.recording.retention_days == 30
    assert d.recording.path(12) == "/var/spool/asterisk/monitor/dialer/call-12.wav"
    assert d.webhook is not None and d.webhook.wants("call.disposed") and not d.webhook.wants("call.connected")
    assert definition_from_data(definition_to_data(d)) == d


def test_without_the_tables_nothing_changes() -> None:
    d = loads_definition(BASE)
    assert not d.recording.enabled and d.webhook is None
    data = definition_to_data(d)
    assert "recording" not in data and "webhook" not in data


@pytest.mark.parametrize(("table", "message"), [
    ("[recording]\nretention_days = 0", "c.toml: recording.retention_days: expected a whole number of days"),
    ("[recording]\ndirectory = \"rec\"", "c.toml: recording.directory: expected an absolute path"),
    ("[webhook]\nurl = \"ftp://x\"\nsecret_env = \"S\"", "c.toml: webhook.url: expected an http:// or https:// URL"),
    ("[webhook]\nurl = \"http://x/\"\nsecret_env = \"S\"\nevents = [\"call.rang\"]", "c.toml: webhook.events[0]: must be one of"),
    ("[webhook]\nurl = \"http://x/\"\nsecret_env = \"not a name\"", "c.toml: webhook.secret_env: expected an environment"),
    ("[webhook]\nurl = \"http://x/\"\nsecret = \"inline\"", "c.toml: webhook.secret: unknown field"),
])
def test_errors_name_the_file_and_field(table: str, message: str) -> None:
    with pytest.raises(CampaignDefinitionError) as err:
        loads_definition(BASE + table, "c.toml")
    assert any(p.startswith(message) for p in err.value.problems), err.value.problems
