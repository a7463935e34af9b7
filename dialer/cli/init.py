"""``dialer init [DIR]``: a starting configuration from the files the package ships."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import click

#: (shipped file under config/, where it goes under DIR)
STARTER: tuple[tuple[str, str], ...] = (
    ("dialer.toml", "dialer.toml"),
    ("campaigns/retention-basic.toml", "campaigns/example.toml"),
)


#: Folders of config/ copied whole: the Asterisk files, the systemd units.
FOLDERS = ("asterisk", "systemd")


def plan(config: Path, target: Path) -> list[tuple[Path, Path]]:
    """The files ``init`` writes: settings, an example campaign, every Asterisk file and the
    systemd units."""
    files = [(config / src, target / dest) for src, dest in STARTER]
    for folder in FOLDERS:
        files += [(p, target / folder / p.name) for p in sorted((config / folder).iterdir()) if p.is_file()]
    return files


def next_steps(target: Path, data_dir: Path) -> list[str]:
    settings = target / "dialer.toml"
    return [
        f"export DIALER_CONFIG={settings}   # or: dialer --config {settings} ...",
        f"edit {settings}: [ami] host, username (the secret goes in DIALER_AMI_SECRET), [database] url",
        f"install the Asterisk files of {target / 'asterisk'} (README, \"Deploying\"), then: dialer pbx check",
        f"edit {target / 'campaigns' / 'example.toml'}, then: dialer campaigns apply {target / 'campaigns' / 'example.toml'}",
        "dialer lists import leads.csv --list retention-q2 --campaign retention-basic",
        "dialer agents add NAME --interface PJSIP/1001; dialer campaigns start retention-basic; dialer run",
        f"as a service: {target / 'systemd'} (README, \"Deploying\")",
        f"(the database and tokens go to {data_dir}; try everything first with: dialer demo)",
    ]


@click.command()
@click.argument("directory", required=False, default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
@click.option("--json", "as_json", is_flag=True, help="Print the files written and the next steps as JSON.")
@click.pass_obj
def cli(obj, directory: Path, force: bool, as_json: bool) -> None:
    """Write a starting configuration into DIRECTORY (default: the current one): dialer.toml
    (the settings, every default shown), campaigns/example.toml and the Asterisk files
    (asterisk/: manager.conf user, the dialer's dialplan, queues, AMD, trunk) and the systemd
    units (systemd/). Creates no database. Existing files are kept unless --force."""
    from dialer.errors import InputError
    from dialer.resources import config_dir

    target = directory.absolute()
    files = plan(config_dir(), target)
    existing = [dest for _, dest in files if dest.exists()]
    if existing and not force:
        raise InputError(f"{existing[0]} already exists ({len(existing)} of the files do): "
                         "choose an empty directory or add --force")
    for src, dest in files:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
    steps = next_steps(target, obj.settings.data_dir)
    if as_json:
        click.echo(json.dumps({"directory": str(target), "files": [str(d) for _, d in files], "next_steps": steps},
                              indent=2))
        return
    click.echo(f"wrote a starting configuration in {target}:")
    for _, dest in files:
        click.echo(f"  {dest.relative_to(target)}")
    click.echo("next steps:")
    for i, step in enumerate(steps, 1):
        click.echo(f"  {i}. {step}")
