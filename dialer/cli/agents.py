"""``dialer agents``: create agents, log them in and out, pause them, see their state."""

from __future__ import annotations

import secrets
import sys

import click
from sqlalchemy import delete, insert, select, update

from campaigns import pbxnames
from campaigns.models import campaigns as campaigns_t
from dialer.api import token_hash
from dialer.cli.common import daemon_request, emit, json_option
from dialer.errors import InputError
from dialer.models import agents as agents_t
from dialer.vocabulary import AuditAction


def _audit(conn, action: AuditAction, name: str, **detail: object) -> None:
    """The command's audit entry, in its transaction (never a token or a password)."""
    from dialer.cli.audit import cli_actor
    from dialer.storage.audit import record

    record(conn, action, cli_actor(), target=name, source="cli", detail=detail)


@click.group()
def cli() -> None:
    """Agents are people who take connected calls. Each has a device on the PBX (its queue
    interface, e.g. PJSIP/agent1) and an API token for the agent desktop. Login, logout,
    pause and ready go through the running daemon (`dialer run`)."""


def _check(field: str, problem: str | None) -> None:
    """A value that would reach AMI: a one-line error naming the field when Asterisk would not take it."""
    if problem:
        raise InputError(f"{field}: {problem}")


@cli.command("add")
@click.argument("name")
@click.option("--interface", required=True, help="The agent's device as a queue member, e.g. PJSIP/agent1.")
@click.option("--state-interface", help="The device whose state stands for a Local interface's, "
              "e.g. PJSIP/agent1 for Local/9001@agents/n (QueueAdd StateInterface).")
@click.option("--rotate-token", is_flag=True, help="Issue a new API token for an existing agent.")
@click.pass_obj
def add_cmd(obj, name: str, interface: str, state_interface: str | None, rotate_token: bool) -> None:
    """Create agent NAME (or update its interface) and print its API token once."""
    _check("name", pbxnames.member_name_problem(name))
    _check("--interface", pbxnames.interface_problem(interface))
    token = secrets.token_urlsafe(24)
    with obj.engine.begin() as conn:
        row = conn.execute(select(agents_t.c.id).where(agents_t.c.name == name)).first()
        if row is None:
            conn.execute(insert(agents_t).values(name=name, interface=interface, token_hash=token_hash(token),
                                                 state="logged_out", state_interface=state_interface))
            _audit(conn, AuditAction.AGENT_ADDED, name, interface=interface, state_interface=state_interface)
            click.echo(f"agent {name!r} created ({interface})")
        else:
            values = {"interface": interface}
            if state_interface is not None:
                values["state_interface"] = state_interface or None
            if rotate_token:
                values["token_hash"] = token_hash(token)
            conn.execute(update(agents_t).where(agents_t.c.id == row.id).values(**values))
            _audit(conn, AuditAction.AGENT_UPDATED, name, interface=interface, new_token=rotate_token,
                   **({"state_interface": state_interface} if state_interface is not None else {}))
            click.echo(f"agent {name!r} updated ({interface})")
            if not rotate_token:
                return
    click.echo(f"API token (shown once, give it to the agent's desktop): {token}")


@cli.command("ls")
@json_option
@click.pass_obj
def ls_cmd(obj, as_json: bool) -> None:
    """List agents with their state as last recorded by the daemon."""
    with obj.reader.connect() as conn:
        rows = conn.execute(
            select(agents_t.c.name, agents_t.c.interface, agents_t.c.state, agents_t.c.pause_code,
                   campaigns_t.c.name.label("campaign"), agents_t.c.state_since)
            .select_from(agents_t.outerjoin(campaigns_t, campaigns_t.c.id == agents_t.c.campaign_id))
            .order_by(agents_t.c.name)
        ).mappings().all()
    emit([dict(r) for r in rows], as_json, title="agents")


def _known(obj, name: str) -> None:
    with obj.reader.connect() as conn:
        if conn.execute(select(agents_t.c.id).where(agents_t.c.name == name)).first() is None:
            raise InputError(f"unknown agent {name!r} (create it with: dialer agents add {name} --interface ...)")


@cli.command("login")
@click.argument("name")
@click.option("--campaign", required=True, help="The campaign whose calls the agent takes.")
@click.pass_obj
def login_cmd(obj, name: str, campaign: str) -> None:
    """Log agent NAME in to CAMPAIGN (adds its device to the campaign's queue)."""
    _known(obj, name)
    daemon_request(obj.settings, "POST", f"/api/agents/{name}/login", {"campaign": campaign})
    click.echo(f"agent {name!r} logged in to {campaign!r}")


@cli.command("logout")
@click.argument("name")
@click.pass_obj
def logout_cmd(obj, name: str) -> None:
    """Log agent NAME out (removes its device from the queue)."""
    _known(obj, name)
    daemon_request(obj.settings, "POST", f"/api/agents/{name}/logout")
    click.echo(f"agent {name!r} logged out")


@cli.command("pause")
@click.argument("name")
@click.option("--code", required=True, help="Pause code, e.g. BREAK, LUNCH, TRAINING.")
@click.pass_obj
def pause_cmd(obj, name: str, code: str) -> None:
    """Pause agent NAME with a pause code (after the current call, if on one)."""
    _check("--code", pbxnames.pause_code_problem(code))
    _known(obj, name)
    daemon_request(obj.settings, "POST", f"/api/agents/{name}/pause", {"code": code})
    click.echo(f"agent {name!r} paused ({code})")


@cli.command("ready")
@click.argument("name")
@click.pass_obj
def ready_cmd(obj, name: str) -> None:
    """Make agent NAME ready for calls again."""
    _known(obj, name)
    daemon_request(obj.settings, "POST", f"/api/agents/{name}/ready")
    click.echo(f"agent {name!r} ready")


@cli.command("call")
@click.argument("name")
@json_option
@click.pass_obj
def call_cmd(obj, name: str, as_json: bool) -> None:
    """Agent NAME's current call (or last undisposed one), as their screen shows it."""
    _known(obj, name)
    call = daemon_request(obj.settings, "GET", f"/api/agents/{name}/call").get("call")
    if as_json:
        emit(call, True)
        return
    if call is None:
        click.echo(f"agent {name!r} has no call")
        return
    lead = call["lead"]
    shown = {
        "call": call["call_id"], "campaign": call["campaign"], "status": call["status"],
        "lead": " ".join(x for x in (lead.get("first_name"), lead.get("last_name")) if x),
        "phone": lead.get("phone"), "connected at": call["connected_at"],
    }
    if call.get("callback"):
        shown["callback"] = (f"asked for {call['callback_at']}"
                             + (f" (booked by {call['callback_booked_by']})" if call.get("callback_booked_by") else "")
                             + (f": {call['callback_note']}" if call.get("callback_note") else ""))
    shown["script"] = call["script"]
    emit(shown, False, title=f"agent {name}: call {call['call_id']}" + (" — CALLBACK" if call.get("callback") else ""))


def _agent_id(conn, name: str) -> int:
    row = conn.execute(select(agents_t.c.id).where(agents_t.c.name == name)).first()
    if row is None:
        raise InputError(f"unknown agent {name!r} (create it with: dialer agents add {name} --interface ...)")
    return int(row.id)


@cli.command("assign")
@click.argument("name")
@click.argument("campaign")
@click.option("--remove", is_flag=True, help="Take the assignment away instead.")
@click.pass_obj
def assign_cmd(obj, name: str, campaign: str, remove: bool) -> None:
    """Allow agent NAME to log in to CAMPAIGN from the desktop (or, with --remove, no longer)."""
    from dialer.models import agent_campaigns

    with obj.engine.begin() as conn:
        agent_id = _agent_id(conn, name)
        camp = conn.execute(select(campaigns_t.c.id).where(campaigns_t.c.name == campaign)).first()
        if camp is None:
            raise InputError(f"unknown campaign {campaign!r} (see: dialer campaigns ls)")
        where = (agent_campaigns.c.agent_id == agent_id, agent_campaigns.c.campaign_id == camp.id)
        exists = conn.execute(select(agent_campaigns.c.id).where(*where)).first() is not None
        if remove:
            conn.execute(delete(agent_campaigns).where(*where))
        elif not exists:
            conn.execute(insert(agent_campaigns).values(agent_id=agent_id, campaign_id=camp.id))
        if remove or not exists:
            _audit(conn, AuditAction.AGENT_ASSIGNED, name, campaign=campaign, removed=remove)
    click.echo(f"agent {name!r} {'no longer assigned to' if remove else 'assigned to'} {campaign!r}")


@cli.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (scripts).")
@click.option("--role", type=click.Choice(["agent", "supervisor", "admin"]),
              help="Also set the role (supervisors and admins open the wallboard).")
@click.pass_obj
def password_cmd(obj, name: str, password_stdin: bool, role: str | None) -> None:
    """Set agent NAME's sign-in password for the desktop (asked for twice, or read from stdin)."""
    from dialer.web.passwords import hash_password

    if password_stdin:
        secret = sys.stdin.readline().rstrip("\r\n")
    else:
        secret = click.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        hashed = hash_password(secret)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    values = {"password_hash": hashed, **({"role": role} if role else {})}
    with obj.engine.begin() as conn:
        conn.execute(update(agents_t).where(agents_t.c.id == _agent_id(conn, name)).values(**values))
        # A new password ends the agent's signed-in sessions.
        from dialer.models import web_sessions

        conn.execute(delete(web_sessions).where(web_sessions.c.agent_id == _agent_id(conn, name)))
        _audit(conn, AuditAction.AGENT_PASSWORD, name, **({"role": role} if role else {}))
    click.echo(f"password set for agent {name!r}" + (f" (role {role})" if role else ""))
