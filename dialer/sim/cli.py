"""What the simulated Asterisk answers to the AMI ``Command`` action (its CLI) and to
``ShowDialPlan``; the actions it lists for ``ListCommands``.  Pure: text in, lines out."""

from __future__ import annotations

from dialer.sim.scenario import Scenario

__all__ = ["ACTIONS", "cli_command", "dialplan"]

VERSION = "Asterisk 22.10.1 built by sim @ dialer on a x86_64 running Linux"
FORMATS = ("gsm", "ulaw", "alaw", "slin", "wav", "g722")

#: Action -> (synopsis, privilege), as manager.c's ListCommands prints them.
ACTIONS: dict[str, tuple[str, str]] = {
    "Login": ("Login Manager.", "<none>"),
    "Logoff": ("Logoff Manager.", "<none>"),
    "Ping": ("Keepalive command.", "<none>"),
    "Events": ("Control Event Flow.", "<none>"),
    "ListCommands": ("List available manager commands.", "<none>"),
    "Originate": ("Originate a call.", "originate,all"),
    "Hangup": ("Hangup channel.", "system,call,all"),
    "Command": ("Execute Asterisk CLI Command.", "command,all"),
    "CoreShowChannels": ("List currently active channels.", "system,reporting,all"),
    "ShowDialPlan": ("Show dialplan contexts and extensions", "config,reporting,all"),
    "QueueAdd": ("Add interface to queue.", "agent,all"),
    "QueueRemove": ("Remove interface from queue.", "agent,all"),
    "QueuePause": ("Makes a queue member temporarily unavailable.", "agent,all"),
    "QueueStatus": ("Show queue status.", "<none>"),
    "QueueSummary": ("Show queue summary.", "<none>"),
    "DBGet": ("Get DB Entry.", "system,reporting,all"),
    "DBPut": ("Put DB entry.", "system,all"),
    "DBDel": ("Delete DB entry.", "system,all"),
    "DBDelTree": ("Delete DB Tree.", "system,all"),
}


def cli_command(scenario: Scenario, command: str) -> tuple[bool, list[str]]:
    """(known command?, output lines) for a CLI command."""
    words = command.split()
    if words[:3] == ["core", "show", "sound"] and len(words) == 4:
        name = words[3]
        if name not in scenario.sounds:
            return True, [f"No information available for {name}"]
        return True, [f"Indexed Information for {name}:", "  Language en:", "    Format: gsm"]
    if words == ["core", "show", "version"]:
        return True, [VERSION]
    if words == ["core", "show", "file", "formats"]:
        head = f"{'Format':<10} {'Name':<20} {'Extensions'}"
        rows = [f"{f:<10} {f:<20} {f}" for f in FORMATS]
        return True, [head, *rows, f"{len(FORMATS)} file formats registered."]
    return False, [f"No such command '{command}' (type 'core show help {command}' for other possible commands)"]


def dialplan(scenario: Scenario, extensions: list[str]) -> dict[str, list[tuple[str, int, str, str]]]:
    """Context -> (extension, priority, application, data) as ``ShowDialPlan`` lists them: the
    connect context (the shipped ``extensions-dialer.conf``, abridged: each extension's steps
    are the file's, in its order, checked by tests/pbx/test_shipped_dialplan.py) and the
    customers'."""
    connect = scenario.connect_context
    rows: list[tuple[str, int, str, str]] = []
    for exten in extensions:
        if exten == "failed":
            rows += [(exten, 1, "NoOp", "dialer: lead ${LEAD_ID} not answered: ${REASON}"),
                     (exten, 2, "Hangup", "")]
            continue
        if exten == "h":
            rows += [(exten, 1, "GotoIf", '$["${DIALER_CALL_ID}" = ""]?done'),
                     (exten, 2, "ExecIf", '$["${MEMBERINTERFACE}" != ""]?Set(DB(dialer-calls/'
                                          '${DIALER_CALL_ID})=${MEMBERINTERFACE})'),
                     (exten, 3, "ExecIf", '$["${DIALSTATUS}" = "ANSWER" & "${DIALER_AGENT}" != ""]?Set(DB('
                                          'dialer-calls/${DIALER_CALL_ID})=${DIALER_AGENT})'),
                     (exten, 4, "NoOp", "")]
            continue
        rows += [
            (exten, 1, "NoOp", "dialer: lead ${LEAD_ID} campaign ${CAMPAIGN} answered"),
            (exten, 2, "UserEvent", "DialerAnswered,LeadID: ${LEAD_ID}"),
            (exten, 3, "Queue", f"${{EXTEN}},,,,{scenario.queue_wait:g}"),
            (exten, 4, "UserEvent", "DialerDrop,LeadID: ${LEAD_ID},QueueStatus: ${QUEUESTATUS}"),
            (exten, 5, "Read", "OPTOUT,dialer-safe-harbour,1,,1,3"),
            (exten, 6, "GotoIf", '$["${OPTOUT}" = "9"]?optout'),
            (exten, 7, "Hangup", ""),
            (exten, 8, "UserEvent", "DialerOptOut,LeadID: ${LEAD_ID},Digit: ${OPTOUT}"),
            (exten, 9, "Hangup", ""),
        ]
    out = {connect: rows}
    for ctx in scenario.customer_contexts:
        out[ctx] = [("_X.", 1, "NoOp", "sim customer ${EXTEN}")]
    return out
