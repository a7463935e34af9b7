"""A stand-in for the AMI link (the engine's ``PbxLink``) that records the actions asked of it."""

from __future__ import annotations


class FakeLink:
    def __init__(self) -> None:
        self.actions: list[tuple] = []

    async def queue_add(self, *a, **k) -> None:
        self.actions.append(("add", a))

    async def queue_remove(self, *a, **k) -> None:
        self.actions.append(("remove", a))

    async def queue_pause(self, *a, **k) -> None:
        self.actions.append(("pause", a))

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
