"""``dialer lists``: import, inspect, export and delete lead lists."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

from dialer.errors import InputError
from dialer.vocabulary import AuditAction


def _json(data: Any) -> None:
    def default(o: Any) -> Any:
        if isinstance(o, datetime | date):
            return o.isoformat()
        return str(o)

    click.echo(json.dumps(data, default=default, ensure_ascii=False, indent=2))


def _console():
    from dialer.cli.common import console

    return console()


@click.group()
def cli() -> None:
    """Import, inspect, export and delete lead lists."""


@cli.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--list", "list_name", required=True, help="List to import into (created when missing).")
@click.option("--campaign", help="Campaign (name or id) the list belongs to.")
@click.option("--region", help="Country (ISO 3166 alpha-2, e.g. US) for numbers without a country code "
                                "(default: the default_region setting of [lists]).")
@click.option("--map", "mapping", multiple=True, metavar="FIELD=COLUMN",
              help="Use COLUMN for FIELD (phone, first_name, last_name, name, state, postal_code, "
                   "country, timezone, external_id); repeat --map phone=... for alternate numbers.")
@click.option("--dedupe", type=click.Choice(["file", "list", "campaign", "all"]), default="campaign",
              show_default=True, help="Skip numbers already in this scope (always within the file).")
@click.option("--delimiter", help="Field separator (default: sniffed among , ; tab |).")
@click.option("--encoding", help="Text encoding (default: detected).")
@click.option("--rejects", type=click.Path(path_type=Path), help="Rejected-rows CSV (default: FILE.rejected.csv).")
@click.option("--consent-column", metavar="COLUMN",
              help="Column saying whether the number's owner consented (yes/no, opt-in/opt-out, or the "
                   "date consent was given); default: a column named consent, opt_in, optin, ...")
@click.option("--consent-date-column", metavar="COLUMN",
              help="When consent was given or revoked (ISO date/time, UTC without an offset); "
                   "default: a column named consent_at or consent_date; else the import's time.")
@click.option("--consent-scope", metavar="SCOPE",
              help="Consent-ledger scope of the file's consent: '*', a seller's name or campaign:NAME "
                   "(default: the seller of the list's campaign, else '*').")
@click.option("--no-consent", is_flag=True,
              help="Record no consent: a column named like one stays a custom field of the leads.")
@click.option("--dry-run", is_flag=True, help="Read and check everything, write nothing to the database.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def import_cmd(obj, file: Path, list_name: str, campaign: str | None, region: str | None,
               mapping: tuple[str, ...], dedupe: str, delimiter: str | None, encoding: str | None,
               rejects: Path | None, consent_column: str | None, consent_date_column: str | None,
               consent_scope: str | None, no_consent: bool, dry_run: bool, as_json: bool) -> None:
    """Import a lead file (CSV/TSV, any common encoding) into a list.

    Every row is accounted for: rows_read = imported + rejected + duplicates + dnc. Rows not
    imported are written, with a reason, to FILE.rejected.csv next to the input. A consent
    column's yes/no of each row with a number goes to the consent ledger in the same
    transaction (a "no" holds the number at once); a cell that is neither rejects the row.
    """
    from lists.columns import parse_overrides
    from lists.importer import ImportOptions, import_file

    options = ImportOptions(
        list_name=list_name, region=region or obj.settings.lists.default_region or None, overrides=parse_overrides(mapping),
        dedupe=dedupe, delimiter=delimiter, encoding=encoding, dry_run=dry_run, rejects=rejects,
        consent_column=consent_column, consent_date_column=consent_date_column, consent=not no_consent,
    )
    if no_consent and (consent_column or consent_date_column or consent_scope):
        raise InputError("--no-consent: not with --consent-column, --consent-date-column or --consent-scope")
    if not file.exists():
        raise InputError(f"{file}: file not found")
    engine = obj.engine
    with engine.connect() as conn:
        if campaign:
            from campaigns.store import find_id

            options.campaign_id = find_id(conn, campaign)
        options.consent_scope = consent_scope if consent_scope is not None else _seller_scope(
            conn, options.campaign_id, list_name)
    show_progress = not as_json and sys.stderr.isatty()
    if show_progress:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        from lists.reader import estimate_rows

        with Progress(TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=_console().__class__(stderr=True), transient=True) as bar:
            task = bar.add_task("import", total=estimate_rows(file))
            result = import_file(engine, file, options, progress=lambda n: bar.advance(task, n))
    else:
        result = import_file(engine, file, options)
    _audit(engine, AuditAction.LIST_IMPORTED, list_name, {"file": file.name, **_counts(result.as_dict())})
    if as_json:
        _json(result.as_dict())
        return
    _print_result(result)


def _seller_scope(conn, campaign_id: int | None, list_name: str) -> str:
    """The consent scope of a lead file by default: the seller of the campaign (given, or the
    existing list's), else ``"*"``."""
    from sqlalchemy import select

    from campaigns.models import campaigns
    from lists.store import find_list

    if campaign_id is None:
        lst = find_list(conn, list_name)
        campaign_id = lst["campaign_id"] if lst is not None else None
    if campaign_id is None:
        return "*"
    definition = conn.execute(select(campaigns.c.definition).where(campaigns.c.id == campaign_id)).scalar() or {}
    seller = (definition.get("compliance") or {}).get("seller") or ""
    return seller.strip() or "*"


def _audit(engine, action: AuditAction, name: str, detail: dict) -> None:
    from dialer.cli.audit import cli_actor
    from dialer.storage.audit import record

    with engine.begin() as conn:
        record(conn, action, cli_actor(), target=name, source="cli", detail=detail)


def _counts(summary: dict) -> dict:
    """The import's counts for the audit log (numbers only: no lead data)."""
    return {k: v for k, v in summary.items() if isinstance(v, int) and not isinstance(v, bool)}


def _print_result(result) -> None:
    from rich.table import Table

    from dialer.cli.common import cell

    title = f"{Path(result.file).name} → list {result.list_name}" + (" (dry run: nothing written)" if result.dry_run else "")
    table = Table(title=cell(title), show_header=True)
    table.add_column("rows")
    table.add_column("count", justify="right")
    table.add_row("read", str(result.rows_read))
    table.add_row("imported", str(result.imported))
    table.add_row("rejected", str(result.rejected))
    table.add_row("duplicates", str(result.duplicates))
    table.add_row("do not call", str(result.dnc))
    for reason, n in sorted(result.not_imported.items()):
        table.add_row(cell(f"  {reason}"), str(n))
    _console().print(table)
    if result.consent_column is not None:
        click.echo(f"consent (column {result.consent_column!r}, scope {result.consent_scope!r}): "
                   f"{result.consent_given} given, {result.consent_revoked} revoked "
                   f"{'would be ' if result.dry_run else ''}recorded in the ledger")
    delimiter = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}.get(result.delimiter, result.delimiter)
    click.echo(f"read as {result.encoding or '?'}, {delimiter}-separated (--encoding, --delimiter to change)")
    if result.rejected_file:
        click.echo(f"rows not imported: {result.rejected_file}")


@cli.command("ls")
@click.option("--all", "show_all", is_flag=True, help="Include archived lists.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
def ls_cmd(obj, show_all: bool, as_json: bool) -> None:
    """List the lead lists with their lead counts (archived lists only with --all)."""
    from dialer.services.listings import list_summaries

    with obj.reader.connect() as conn:
        rows = list_summaries(conn, archived=show_all)
    if as_json:
        _json(rows)
        return
    from rich.table import Table

    from dialer.cli.common import cell

    table = Table(show_header=True)
    for col in ("name", "campaign", "active", "priority", "leads", "new", "created"):
        table.add_column(col, justify="right" if col in ("leads", "new", "priority") else "left")
    for r in rows:
        active = "archived" if r["archived_at"] is not None else "yes" if r["active"] else "no"
        table.add_row(cell(r["name"]), cell(r["campaign"] or "-"), active,
                      str(r["priority"]), str(r["leads"]), str(r["new"]), str(r["created_at"])[:19])
    _console().print(table if rows else "no lists yet: `dialer lists import FILE --list NAME`")


@cli.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
def show_cmd(obj, name: str, as_json: bool) -> None:
    """Show a list: lead counts by status and its import runs."""
    from dialer.services.listings import list_details

    with obj.reader.connect() as conn:
        info = list_details(conn, name)
    if as_json:
        _json(info)
        return
    from rich.markup import escape
    from rich.table import Table

    from dialer.cli.common import cell

    console = _console()
    console.print(f"[bold]{escape(info['name'])}[/bold]  campaign: {escape(info['campaign'] or '-')}  "
                  f"active: {'yes' if info['active'] else 'no'}  priority: {info['priority']}  leads: {info['leads']}")
    st = Table(title="leads by status")
    st.add_column("status")
    st.add_column("leads", justify="right")
    for s, n in info["statuses"].items():
        st.add_row(cell(s), str(n))
    console.print(st)
    runs = Table(title="imports")
    for col in ("finished", "file", "read", "imported", "rejected", "duplicates", "dnc", "rejected file"):
        runs.add_column(col)
    for r in info["imports"]:
        runs.add_row(str(r["finished_at"])[:19], cell(r["file"]), str(r["rows_read"]), str(r["imported"]),
                     str(r["rejected"]), str(r["duplicates"]), str(r["dnc"]), cell(r["rejected_file"] or "-"))
    console.print(runs)


@cli.command("export")
@click.argument("name")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path, dir_okay=False), help="CSV file to write.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
@click.pass_obj
def export_cmd(obj, name: str, out: Path, as_json: bool) -> None:
    """Export a list's leads (with status, attempts, last outcome) to a spreadsheet-safe CSV."""
    from lists.export import export_list

    with obj.reader.connect() as conn:
        n = export_list(conn, name, out)
    if as_json:
        _json({"list": name, "file": str(out), "leads": n})
    else:
        click.echo(f"exported {n} leads of {name} to {out}")


@cli.command("delete")
@click.argument("name")
@click.option("--archive", is_flag=True,
              help="A list with call history: deactivate it and mark it archived, keeping every lead for history.")
@click.option("--force", is_flag=True,
              help="A list with call history: delete only the leads never called, archive the list with the others.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
@click.pass_obj
def delete_cmd(obj, name: str, archive: bool, force: bool, yes: bool, as_json: bool) -> None:
    """Delete a list and its leads; never call history.

    A list whose leads were called is refused unless --archive or --force; any list is refused
    while an active campaign dials it. Archived lists are hidden from `lists ls` (see --all).
    """
    from datetime import UTC

    from dialer.services.listings import remove_list
    from lists.store import get_list, lead_counts

    with obj.engine.connect() as conn:
        leads = lead_counts(conn, get_list(conn, name)["id"])["leads"]
    if not yes and not click.confirm(f"delete list {name!r} and its {leads} leads?", default=False):
        raise InputError("not deleted")
    with obj.engine.begin() as conn:
        done = remove_list(conn, name, datetime.now(UTC), archive=archive, force=force)
    _audit(obj.engine, AuditAction.LIST_DELETED, name, {k: v for k, v in done.as_dict().items()
                                                         if isinstance(v, int | bool | str)})
    if as_json:
        _json(done.as_dict())
    elif done.archived:
        click.echo(f"archived list {name}: kept {done.kept_leads} leads with their call history, "
                   f"deleted {done.deleted_leads} never called")
    else:
        click.echo(f"deleted list {name} ({done.deleted_leads} leads)")


@cli.command("audit")
@click.argument("name")
@click.option("--export", "export", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the affected leads to this CSV (spreadsheet-safe).")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
def audit_cmd(obj, name: str, export: Path | None, as_json: bool) -> None:
    """Audit a list: ambiguous or disagreeing time zones, mobile versus fixed-line numbers, and
    numbers also on another list of the campaign — each with a count and an example."""
    from dialer.services.listings import audit_list
    from lists.audit import export_affected, print_audit

    with obj.reader.connect() as conn:
        report = audit_list(conn, name)
    data = report.as_dict()
    if export is not None:
        data["exported"] = {"file": str(export), "leads": export_affected(report, export)}
    if as_json:
        _json(data)
        return
    print_audit(report)
    if export is not None:
        click.echo(f"exported {data['exported']['leads']} affected leads to {export}")
