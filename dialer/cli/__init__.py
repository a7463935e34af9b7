"""The ``dialer`` command line: ``dialer <noun> <verb>``.

Sub-commands live in modules of this package, each exposing a click command or group named
``cli``; they are imported only when used, so ``dialer --help`` stays fast.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

import click

from dialer import __version__

# command name -> (module, one-line help shown by `dialer --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("dialer.cli.init", "Write a starting configuration: settings, an example campaign, Asterisk files."),
    "demo": ("dialer.cli.demo", "Run a whole simulated campaign against the built-in PBX simulator."),
    "run": ("dialer.cli.run", "Run the dialer daemon: connect to the PBX and dial every active campaign."),
    "lists": ("dialer.cli.lists", "Import, inspect, export and delete lead lists."),
    "dnc": ("dialer.cli.dnc", "Manage do-not-call numbers."),
    "consent": ("dialer.cli.consent", "The consent ledger: consent given and revoked per number."),
    "campaigns": ("dialer.cli.campaigns", "Define, start, pause and inspect campaigns."),
    "agents": ("dialer.cli.agents", "Log agents in and out, pause them, show their state."),
    "calls": ("dialer.cli.calls", "Inspect calls and record dispositions."),
    "webhooks": ("dialer.cli.webhooks", "Webhooks to a CRM: list, retry and test event delivery."),
    "report": ("dialer.cli.report", "Campaign results: outcomes, dispositions, abandon rate."),
    "jobs": ("dialer.cli.jobs", "Scheduled jobs: list, run now, history."),
    "nodes": ("dialer.cli.nodes", "Nodes sharing the database: PBX, heartbeat, agents, lines."),
    "scheduler": ("dialer.cli.scheduler", "Run the scheduled jobs alone (a jobs-only node)."),
    "pbx": ("dialer.cli.pbx", "Check the Asterisk server: AMI user, dialplan, queue, safe-harbour sound."),
    "sim": ("dialer.cli.sim", "Run the built-in PBX simulator (speaks AMI like Asterisk)."),
    "bench": ("dialer.cli.bench", "Benchmarks: pacing policies in a discrete-event simulation."),
    "db": ("dialer.cli.db", "Database schema: upgrade, current revision."),
    "config": ("dialer.cli.config", "Show the effective settings (secrets masked)."),
    "audit": ("dialer.cli.audit", "The audit log: who did what, when and from where."),
}


def _available(name: str) -> bool:
    return importlib.util.find_spec(COMMANDS[name][0]) is not None


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in COMMANDS if _available(name))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS or not _available(cmd_name):
            return None
        module = importlib.import_module(COMMANDS[cmd_name][0])
        command = module.cli
        command.name = cmd_name
        if not command.short_help:
            command.short_help = COMMANDS[cmd_name][1]
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Show the registered one-line help without importing every module.
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context):
        from dialer.errors import DialerError

        try:
            return super().invoke(ctx)
        except DialerError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    envvar="DIALER_CONFIG",
    help="Settings file (TOML) overriding the shipped defaults (config/dialer.toml; `dialer init` "
    "writes a copy); DIALER_* variables override both.",
)
@click.version_option(__version__, prog_name="dialer")
@click.pass_context
def main(ctx: click.Context, config_file: str | None) -> None:
    """Outbound dialer and campaign engine for Asterisk.

    Campaign managers import lead lists and run campaigns; agents take connected calls and
    record dispositions; scheduled jobs recycle leads by the campaign's rules. Everything runs
    against a real Asterisk over AMI, or against the built-in simulator (`dialer sim`,
    `dialer demo`).
    """
    ctx.obj = CliContext(config_file)


class CliContext:
    """Lazily loaded settings and database engine shared by sub-commands (``ctx.obj``)."""

    def __init__(self, config_file: str | None) -> None:
        self.config_file = config_file
        self._settings = None
        self._engine = None

    @property
    def settings(self):
        if self._settings is None:
            from dialer.settings import load_settings

            self._settings = load_settings(self.config_file)
            from dialer.logs import setup_logging

            setup_logging(self._settings.log)
        return self._settings

    @property
    def engine(self):
        """A sync engine on the configured database, migrated to the latest schema."""
        if self._engine is None:
            from dialer.db import open_engine

            self._engine = open_engine(self.settings.database_url)
        return self._engine

    @property
    def missing_database(self):
        """The SQLite file that does not exist yet (None: there is one, or the database is a server)."""
        from dialer.db import sqlite_file

        path = sqlite_file(self.settings.database_url)
        return path if self._engine is None and path is not None and not path.exists() else None

    @property
    def reader(self):
        """The engine for a command that only reads: it never creates a database (an existing
        one is migrated as for :attr:`engine`); none yet is a one-line error that says where."""
        path = self.missing_database
        if path is not None:
            from dialer.errors import NoDatabase

            raise NoDatabase(f"no database yet at {path}: nothing to show (commands that write, "
                             "such as `dialer campaigns apply` or `dialer db upgrade`, create it)")
        return self.engine
