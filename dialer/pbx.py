"""The engine's PBX link over the AMI client, and the routing of AMI notifications to the engine.

AMI failures of agent actions become typed errors with the PBX's reason: :class:`MemberExists`
("Already there": the login is idempotent), :class:`NotMember` (a state conflict, 409) and
:class:`~dialer.errors.PbxError` (refused or no answer, 502).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from dialer.ami.checks import SOUND_CHECK, Check, check_sound, dialplan_sound
from dialer.ami.client import AmiActionError, AmiClient, AmiError
from dialer.ami.codec import Frame
from dialer.ami.events import (
    AmiEvent,
    LinkLost,
    LinkUp,
    PbxStopping,
    QueueMember,
    Reconciled,
    ReconcileFailed,
)
from dialer.errors import Conflict, DialerError, PbxError
from dialer.session.commands import PbxAction, QueueAdd, QueuePause, QueueRemove

log = logging.getLogger("dialer.engine")

#: The AstDB family where the shipped dialplan notes what became of a call (key: DIALER_CALL_ID):
#: at hangup the agent interface it reached (``h`` extension), or ``abandoned`` where it drops it
#: (config/asterisk/extensions-dialer.conf).
CALLS_FAMILY = "dialer-calls"


class PbxLink(Protocol):
    """What the engine needs from the AMI client (see :mod:`dialer.ami.client`)."""

    async def originate(self, attempt_id: str, *, channel: str, context: str, exten: str, priority: int,
                        timeout: float, caller_id: str | None, variables: dict[str, str]) -> None:
        """Send an async Originate; return when the PBX accepted it, raise when it refused."""

    async def queue_add(self, queue: str, interface: str, member_name: str, paused: bool = False,
                        state_interface: str | None = None) -> None:
        """Raise :class:`MemberExists` when already a member, :class:`~dialer.errors.PbxError` else."""

    async def queue_remove(self, queue: str, interface: str) -> None: ...

    async def queue_pause(self, queue: str, interface: str, paused: bool, reason: str = "") -> None: ...

    async def queue_status(self, queue: str | None = None) -> list[AmiEvent]: ...

    def reconcile_soon(self) -> None:
        """Take ``CoreShowChannels`` in the background; the result comes as ``reconciled``."""

    async def call_notes(self, call_ids: Iterable[int]) -> dict[int, str]:
        """What the dialplan noted of these calls (AstDB ``dialer-calls/<call id>``): the agent
        interface a call reached, or ``abandoned``; for calls that ended while no one watched."""

    async def forget_notes(self) -> None:
        """Clear those notes (every call they name has been settled)."""


class OriginateRefused(DialerError):
    """The PBX answered the Originate with an error: the attempt failed, nothing was dialled."""


class MemberExists(Conflict):
    """QueueAdd of an agent already in the queue ("Already there"): a login is idempotent."""


class NotMember(Conflict):
    """A queue action on an agent the PBX does not have in the queue (HTTP 409)."""


async def queue_members(link: PbxLink, queues: Iterable[str]) -> dict[tuple[str, str], QueueMember]:
    """The PBX's members of ``queues`` by (queue, interface); {} when the PBX cannot say now
    (the engine then adds its node's agents back, idempotently)."""
    out: dict[tuple[str, str], QueueMember] = {}
    for queue in queues:
        try:
            events = await link.queue_status(queue)
        except Exception as exc:
            log.warning("QueueStatus failed; adding this node's agents back", extra={"error": str(exc)})
            return {}
        out.update({(e.queue, e.interface): e for e in events if isinstance(e, QueueMember)})
    return out



async def perform(link: PbxLink, cmd: PbxAction) -> None:
    """A queue action of the session's: adding a member already there sets the pause state
    asked for (an idempotent login); removing one not there is done."""
    try:
        if isinstance(cmd, QueuePause):
            await link.queue_pause(cmd.queue, cmd.interface, cmd.paused, cmd.reason)
        elif isinstance(cmd, QueueRemove):
            await link.queue_remove(cmd.queue, cmd.interface)
        else:
            await link.queue_add(cmd.queue, cmd.interface, cmd.member_name, paused=cmd.paused,
                                 state_interface=cmd.state_interface)
    except MemberExists:
        assert isinstance(cmd, QueueAdd)
        await link.queue_pause(cmd.queue, cmd.interface, cmd.paused, cmd.reason)
    except NotMember:
        if not isinstance(cmd, QueueRemove):
            raise


def agent_action_error(exc: AmiError, what: str) -> Exception:
    """The typed error for an AMI failure of an agent action ``what`` (e.g. "QueueAdd")."""
    if isinstance(exc, AmiActionError):
        message = exc.message.lower()
        if "already there" in message:
            return MemberExists(f"PBX: {what}: {exc.message}")
        if "not there" in message or "interface not found" in message:
            return NotMember(f"PBX: {what}: {exc.message}")
        return PbxError(f"PBX refused {what}: {exc.message}")
    return PbxError(f"PBX did not answer {what}: {exc}")


class AmiLink:
    """Adapts :class:`~dialer.ami.client.AmiClient` to :class:`PbxLink`."""

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

    async def queue_add(self, queue: str, interface: str, member_name: str, paused: bool = False,
                        state_interface: str | None = None) -> None:
        try:
            await self.client.queue_add(queue, interface, member_name=member_name, paused=paused,
                                        state_interface=state_interface)
        except AmiError as exc:
            raise agent_action_error(exc, "QueueAdd") from None

    async def queue_remove(self, queue: str, interface: str) -> None:
        try:
            await self.client.queue_remove(queue, interface)
        except AmiError as exc:
            raise agent_action_error(exc, "QueueRemove") from None

    async def queue_pause(self, queue: str, interface: str, paused: bool, reason: str = "") -> None:
        try:
            await self.client.queue_pause(interface, paused, queue=queue, reason=reason or None)
        except AmiError as exc:
            raise agent_action_error(exc, "QueuePause") from None

    async def queue_status(self, queue: str | None = None) -> list[AmiEvent]:
        return await self.client.queue_status(queue)

    def reconcile_soon(self) -> None:
        self.client.reconcile_soon()

    async def call_notes(self, call_ids: Iterable[int]) -> dict[int, str]:
        found: dict[int, str] = {}
        for call_id in call_ids:
            try:
                value = await self.client.db_get(CALLS_FAMILY, str(call_id))
            except AmiError as exc:  # not known: the call stays UNKNOWN, as without the note
                log.warning("could not read the dialplan's note of a call", extra={"call": call_id, "error": str(exc)})
                continue
            if value:
                found[call_id] = value
        return found

    async def forget_notes(self) -> None:
        try:
            await self.client.db_del_tree(CALLS_FAMILY)
        except AmiError as exc:
            log.warning("could not clear the dialplan's notes of connected calls", extra={"error": str(exc)})


async def sound_check(client: AmiClient, context: str) -> Check:
    """Does the PBX have the safe-harbour sound ``context`` plays to dropped calls?  Read from
    its dialplan (``ShowDialPlan``), then ``Command: core show sound <sound>``; not checked
    (``ok`` None) when the AMI user may not send those.  AMI failures propagate."""
    try:
        items = await client.show_dialplan(context)
    except AmiActionError as exc:
        if "permission" in exc.message.lower():
            return Check(SOUND_CHECK, None, "not checked (the AMI user may not send ShowDialPlan: write=reporting)")
        return Check(SOUND_CHECK, False, f"not checked: no dialplan context {context} ({exc.message}): "
                     "#include extensions-dialer.conf from extensions.conf, then 'dialplan reload'")
    sound = dialplan_sound(items, context)
    if sound is None:
        return check_sound(Frame(), None)
    try:
        response = await client.command(f"core show sound {sound}")
    except AmiActionError as exc:
        response = Frame([("Response", "Error"), ("Message", exc.message)])
    return check_sound(response, sound)


async def report_sound(client: AmiClient, context: str) -> Check | None:
    """:func:`sound_check`, logged: a warning when the sound is missing (Playback fails
    silently: dropped callers would hear nothing), that it was skipped, or that it is there."""
    try:
        check = await sound_check(client, context)
    except AmiError as exc:
        log.info("safe-harbour sound not checked: the PBX did not answer", extra={"error": str(exc)})
        return None
    if check.ok is False:
        log.warning(f"safe-harbour sound: {check.detail}", extra={"ami": client.where, "context": context})
    elif check.ok is None:
        log.info(f"safe-harbour sound check skipped: {check.detail}", extra={"ami": client.where})
    else:
        log.info(f"safe-harbour sound found: {check.detail}", extra={"ami": client.where})
    return check


def route_to(engine_ref: list[Any], on_link_up: Callable[[], None] | None = None) -> Any:
    """An ``on_event`` callback for the client that feeds the engine once it exists.

    Events that arrive before the engine is built (during login) are of no use to it.  A failed
    reconciliation is reported, not taken for a link loss: the link is up and the client
    retries by itself (docs/ami.md, "Reconciliation").  ``on_link_up`` is called at each login,
    the first and after a reconnect, engine or not.
    """

    def on_event(item: Any) -> None:
        if isinstance(item, LinkUp) and on_link_up is not None:
            on_link_up()
        engine = engine_ref[0]
        if engine is None:
            return
        if isinstance(item, LinkLost):
            engine.link_lost()
        elif isinstance(item, Reconciled):
            engine.reconciled(item.channels)
        elif isinstance(item, ReconcileFailed):  # the link is up: status "reconciling", no pacing yet
            engine.session.reconcile_failed(item.reason, item.attempt, item.retry_in)
        elif isinstance(item, PbxStopping):
            engine.pbx_stopping(item.stopping, item.reason)
        elif isinstance(item, LinkUp):
            if item.reconnected:  # up again; calls are placed once reconciled
                engine.session.link_restored()
        else:
            engine.handle_event(item)

    return on_event
