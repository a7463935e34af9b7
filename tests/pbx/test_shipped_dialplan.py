"""The shipped dialplan, ``config/asterisk/extensions-dialer.conf``, read as Asterisk reads it:
``dialer pbx check`` passes on it, its ``failed`` extension is handled explicitly (the pattern
would catch it), the ``h`` extension notes the agent a call reached, and the simulator's
dialplan (written by hand, dialer/sim/cli.py) is the shipped one, abridged."""

from __future__ import annotations

import re
from pathlib import Path

from dialer.cli.pbx import check_dialplan
from dialer.sim import Simulator, load_scenario
from dialer.sim.cli import dialplan
from dialer.sim.dialplan import matches, resolve

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "asterisk" / "extensions-dialer.conf"
CONTEXT = "dialer-connect"
LINE = re.compile(r"^(exten|same)\s*=>\s*(.*)$")


def read_extensions(text: str) -> list[dict[str, str]]:
    """``extensions.conf`` text as ``ShowDialPlan`` lists it: one item per priority (Context,
    Extension, Priority, Application, AppData); ``same =>`` and ``n`` priorities, labels
    ``n(label)``, comments after ``;``."""
    items: list[dict[str, str]] = []
    context, exten, priority = "", "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            context = line[1:-1]
            continue
        m = LINE.match(line)
        assert m and context, f"{SHIPPED.name}:{number}: not a dialplan line: {raw!r}"
        if m[1] == "exten":
            exten, prio, command = m[2].split(",", 2)
        else:
            prio, command = m[2].split(",", 1)
        label = re.fullmatch(r"(\w+)(?:\((\w+)\))?", prio.strip())
        assert label, f"{SHIPPED.name}:{number}: bad priority {prio!r}"
        priority = priority + 1 if label[1] == "n" else int(label[1])
        app, _, data = command.partition("(")
        assert not data or data.endswith(")"), f"{SHIPPED.name}:{number}: unbalanced {command!r}"
        items.append({"Context": context, "Extension": exten.strip(), "Priority": str(priority),
                      "Application": app.strip(), "AppData": data[:-1]})
    return items


ITEMS = read_extensions(SHIPPED.read_text())


def extensions(items: list[dict[str, str]], context: str = CONTEXT) -> list[str]:
    return list(dict.fromkeys(i["Extension"] for i in items if i["Context"] == context))


def steps(items: list[dict[str, str]], exten: str) -> list[tuple[str, str]]:
    return [(i["Application"], i["AppData"]) for i in items if i["Context"] == CONTEXT and i["Extension"] == exten]


def test_the_reader_reads_priorities_labels_and_nested_parentheses() -> None:
    items = read_extensions("[c]\nexten => _X.,1,NoOp(a) ; a comment\n same => n(x),Dial(${A},2,U(r^s^1(${B})))\n"
                            "exten => h,1,Hangup() ; done\n")
    assert [(i["Extension"], i["Priority"], i["Application"], i["AppData"]) for i in items] == [
        ("_X.", "1", "NoOp", "a"), ("_X.", "2", "Dial", "${A},2,U(r^s^1(${B}))"), ("h", "1", "Hangup", "")]


def test_pbx_check_passes_on_the_shipped_dialplan() -> None:
    checks, sound = check_dialplan({"Response": "Success"}, ITEMS, CONTEXT, "spring")
    assert [(c.name, c.ok) for c in checks] == [
        ("dialplan", True), ("extension", True), ("failed extension", True), ("hangup note", True)]
    assert checks[1].detail == "spring@dialer-connect runs _[a-zA-Z0-9]."
    assert sound == "dialer-safe-harbour"


def test_failed_is_handled_explicitly_not_by_the_pattern() -> None:
    """The connect pattern matches ``failed``: only the exact extension before it keeps every
    failed Originate from running the connect dialplan (recording 01)."""
    extens = extensions(ITEMS)
    [pattern] = [e for e in extens if e.startswith("_")]
    assert matches(pattern, "failed")  # why the explicit extension is needed
    assert resolve(extens, "failed") == "failed"
    failed = steps(ITEMS, "failed")
    assert [app for app, _ in failed] == ["NoOp", "Hangup"]  # nothing else: no UserEvent, no Queue
    # Without it, check_dialplan reports the pattern.
    without = [i for i in ITEMS if i["Extension"] != "failed"]
    checks, _ = check_dialplan({"Response": "Success"}, without, CONTEXT, "spring")
    failed_check = next(c for c in checks if c.name == "failed extension")
    assert failed_check.ok is False and pattern in failed_check.detail


def test_the_h_extension_notes_the_agent_a_call_reached() -> None:
    h = " ".join(data for _app, data in steps(ITEMS, "h"))
    assert "Set(DB(dialer-calls/${DIALER_CALL_ID})=${MEMBERINTERFACE})" in h
    assert "Set(DB(dialer-calls/${DIALER_CALL_ID})=${DIALER_AGENT})" in h
    assert "=abandoned" in h


def _subsequence(part: list[tuple[str, str]], whole: list[tuple[str, str]]) -> bool:
    it = iter(whole)
    return all(step in it for step in part)


def test_the_simulators_dialplan_is_the_shipped_one_abridged() -> None:
    """The simulator's ``ShowDialPlan`` (and the dialplan it runs): the shipped connect
    context's extensions (plus ``s``, which the older recordings' tests originate to), each
    one's steps in the shipped order with the same data (AMD, recording and the owner's Dial
    left out)."""
    sim = Simulator(load_scenario().with_(deterministic=True))
    contexts = dialplan(sim.scenario, sim.pbx.connect_extensions())
    rows = [{"Context": c, "Extension": e, "Priority": str(p), "Application": a, "AppData": d}
            for c, listed in contexts.items() for e, p, a, d in listed]
    assert set(extensions(rows)) - set(extensions(ITEMS)) == {"s"}
    assert set(extensions(ITEMS)) <= set(extensions(rows))
    for exten in extensions(ITEMS):
        mine = steps(rows, exten)
        assert mine and _subsequence(mine, steps(ITEMS, exten)), (exten, mine)
    sim_checks, sim_sound = check_dialplan({"Response": "Success"}, rows, CONTEXT, "spring")
    shipped_checks, shipped_sound = check_dialplan({"Response": "Success"}, ITEMS, CONTEXT, "spring")
    assert [(c.name, c.ok) for c in sim_checks] == [(c.name, c.ok) for c in shipped_checks]
    assert sim_sound == shipped_sound
    # The shipped file's other context is the recording handler the owner's Dial calls.
    assert {i["Context"] for i in ITEMS} == {CONTEXT, "dialer-record"}
