"""A stand-in for the AMI link (the engine's ``PbxLink``) that records the actions asked of it.

A failing mode: :meth:`FakeLink.refuse` makes an agent action fail as :class:`~dialer.pbx.AmiLink`
would when the PBX answers ``Response: Error`` with a message (e.g. "Interface not found"), and
:meth:`FakeLink.silence` as when the PBX does not answer in time.
"""

from __future__ import annotations

from dialer.ami.client import AmiActionError, AmiError, AmiTimeout
from dialer.pbx import agent_action_error

#: The AMI action of each recorded kind.
AMI_ACTION = {"add": "QueueAdd", "remove": "QueueRemove", "pause": "QueuePause"}


class FakeLink:
    def __init__(self) -> None:
        self.actions: list[tuple] = []
        self.failures: dict[str, AmiError] = {}  # action kind ("add", "remove", "pause") -> its failure

    def refuse(self, kind: str, message: str) -> None:
        """Answer the actions of ``kind`` with ``Response: Error`` and ``message`` from now on."""
        self.failures[kind] = AmiActionError(AMI_ACTION[kind], message)

    def silence(self, kind: str) -> None:
        """Let the actions of ``kind`` go unanswered (the client's timeout) from now on."""
        self.failures[kind] = AmiTimeout(f"no response to {AMI_ACTION[kind]} within 10 s")

    def _act(self, kind: str, a: tuple) -> None:
        self.actions.append((kind, a))
        failure = self.failures.get(kind)
        if failure is not None:
            raise agent_action_error(failure, AMI_ACTION[kind])

    async def queue_add(self, *a, **k) -> None:
        self._act("add", a)

    async def queue_remove(self, *a, **k) -> None:
        self._act("remove", a)

    async def queue_pause(self, *a, **k) -> None:
        self._act("pause", a)

    async def core_show_channels(self) -> list:
        return []

    async def queue_status(self, queue: str | None = None) -> list:
        return []

    async def call_notes(self, call_ids) -> dict:
        return {}

    async def forget_notes(self) -> None:
        self.actions.append(("forget_notes", ()))

    def reconcile_soon(self) -> None:
        self.actions.append(("reconcile", ()))
