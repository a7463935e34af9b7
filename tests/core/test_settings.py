"""Settings: defaults, the settings file, --config, environment variables, secrets masked."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from dialer.cli import main
from dialer.errors import ConfigError
from dialer.secrets import Secret, mask_url
from dialer.settings import DEFAULT_CONFIG_FILE, Settings, _apply, load_settings


def test_default_file_matches_builtin_defaults() -> None:
    """config/dialer.toml documents the defaults: loading it changes nothing."""
    settings = Settings()
    _apply(settings, tomllib.loads(DEFAULT_CONFIG_FILE.read_text()), "", "defaults")
    assert settings == Settings()


def test_default_database_is_sqlite_in_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The default data directory is absolute: the platform's user data directory, never the
    # working directory (a service started from / must not write /var/dialer.db).
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    settings = load_settings(env={})
    assert settings.data_dir == tmp_path / "xdg" / "dialer"
    assert settings.database_url == f"sqlite:///{tmp_path}/xdg/dialer/dialer.db"
    assert not (tmp_path / "xdg").exists()  # loading settings creates nothing
    assert load_settings(env={"DIALER_DATA_DIR": "/tmp/x"}).database_url == "sqlite:////tmp/x/dialer.db"


def test_config_file_then_environment_override(tmp_path: Path) -> None:
    cfg = tmp_path / "site.toml"
    cfg.write_text('[ami]\nhost = "pbx.example"\nport = 5039\n[log]\nmask_numbers = false\n')
    settings = load_settings(cfg, env={"DIALER_AMI_PORT": "6000", "DIALER_DATABASE_URL": "postgresql://u:pw@h/db"})
    assert settings.ami.host == "pbx.example"
    assert settings.ami.port == 6000
    assert settings.log.mask_numbers is False
    assert settings.database_url == "postgresql://u:pw@h/db"


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("[ami]\nhots = 'x'\n", {}, "unknown setting 'ami.hots'"),
        ("[ami]\nport = 'many'\n", {}, "ami.port"),
        ("ami = 3\n", {}, "must be a table"),
        ("[ami\n", {}, "not valid TOML"),
        ("", {"DIALER_LOG_MASK_NUMBERS": "maybe"}, "DIALER_LOG_MASK_NUMBERS"),
    ],
)
def test_bad_settings_name_the_problem(tmp_path: Path, text: str, env: dict, message: str) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        load_settings(cfg, env=env)


def test_missing_config_file_is_a_clear_cli_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--config", str(tmp_path / "nope.toml"), "config"])
    assert result.exit_code == 2
    assert "settings file not found" in result.output
    assert "Traceback" not in result.output


def test_secrets_never_shown(tmp_path: Path) -> None:
    env = {"DIALER_AMI_SECRET": "s3cr3t-ami", "DIALER_DATABASE_URL": "postgresql://dialer:pg-pass@db/dialer"}
    settings = load_settings(env=env)
    assert settings.ami.secret.reveal() == "s3cr3t-ami"
    assert "s3cr3t-ami" not in repr(settings) and "s3cr3t-ami" not in str(settings.ami)
    public = json.dumps(settings.public_dict())
    assert "s3cr3t-ami" not in public and "pg-pass" not in public
    result = CliRunner().invoke(main, ["config"], env=env)
    assert result.exit_code == 0
    assert "s3cr3t-ami" not in result.output and "pg-pass" not in result.output
    assert "dialer:********@db" in result.output


def test_secret_and_url_masking() -> None:
    assert str(Secret("x")) == "********" and not Secret("")
    assert mask_url("postgresql+asyncpg://u:p%40ss@h:5432/d") == "postgresql+asyncpg://u:********@h:5432/d"
    assert mask_url("sqlite:///var/dialer.db") == "sqlite:///var/dialer.db"


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "db" in result.output and "config" in result.output
