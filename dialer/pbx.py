"""The engine's PBX link over the AMI client, and the routing of AMI notifications to the engine."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dialer.ami.client import AmiActionError, AmiClient
from dialer.ami.events import CoreShowChannel, LinkLost, LinkUp, Reconciled
from dialer.engine import OriginateRefused

if TYPE_CHECKING:
    from dialer.engine import Engine


class AmiLink:
    """Adapts :class:`~dialer.ami.client.AmiClient` to :class:`dialer.engine.PbxLink`."""

    def __init__(self, client: AmiClient) -> None:
        self.client = client

    async def originate(
        self,
        attempt_id: str,
        *,
        channel: str,
        context: str,
        exten: str,
        priority: int,
        timeout: float,
        caller_id: str | None,
        variables: Mapping[str, str],
    ) -> None:
        try:
            await self.client.originate(
                attempt_id, channel, context=context, exten=exten, priority=priority,
                ring_timeout=timeout, caller_id=caller_id, variables=variables,
            )
        except AmiActionError as exc:
            raise OriginateRefused(str(exc)) from None

    async def queue_add(self, queue: str, interface: str, member_name: str, paused: bool = False) -> None:
        await self.client.queue_add(queue, interface, member_name=member_name, paused=paused)

    async def queue_remove(self, queue: str, interface: str) -> None:
        await self.client.queue_remove(queue, interface)

    async def queue_pause(self, queue: str, interface: str, paused: bool, reason: str = "") -> None:
        await self.client.queue_pause(interface, paused, queue=queue, reason=reason or None)

    async def core_show_channels(self) -> list[CoreShowChannel]:
        return await self.client.core_show_channels()


def route_to(engine_ref: list[Engine | None]) -> Any:
    """An ``on_event`` callback for the client that feeds the engine once it exists.

    Events that arrive before the engine is built (during login) are of no use to it.
    """

    def on_event(item: Any) -> None:
        engine = engine_ref[0]
        if engine is None:
            return
        if isinstance(item, LinkLost):
            engine.link_lost()
        elif isinstance(item, Reconciled):
            engine.reconciled(item.channels)
        elif isinstance(item, LinkUp):
            return
        else:
            engine.handle_event(item)

    return on_event
