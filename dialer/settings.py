"""Settings: built-in defaults, the shipped ``config/dialer.toml``, ``--config FILE``, then ``DIALER_*`` variables.

Each later source overrides the earlier ones key by key.  Environment variables are named
``DIALER_<SECTION>_<KEY>`` (``DIALER_AMI_SECRET``), plus the short forms ``DIALER_DATABASE_URL``
and ``DIALER_DATA_DIR``.  Unknown keys are errors that name the key, so a typo never goes unnoticed.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dialer.errors import ConfigError
from dialer.resources import config_dir, default_data_dir
from dialer.secrets import Secret, mask_url

#: The documented defaults: the checkout's ``config/dialer.toml``, or the wheel's copy of it.
DEFAULT_CONFIG_FILE = config_dir() / "dialer.toml"


@dataclass
class DatabaseSettings:
    # Empty: a SQLite file ``dialer.db`` in the data directory.
    url: str = ""


@dataclass
class AmiSettings:
    host: str = "127.0.0.1"
    port: int = 5038
    username: str = "dialer"
    secret: Secret = field(default_factory=lambda: Secret("dialer"))
    connect_timeout: float = 5.0
    action_timeout: float = 10.0
    ping_interval: float = 10.0
    reconnect_max_delay: float = 30.0


@dataclass
class LogSettings:
    level: str = "INFO"
    format: str = "text"  # "text" or "json"
    mask_numbers: bool = True


SCREEN_NUMBER = ("full", "last4", "hidden")


@dataclass
class HttpSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    # Limits of the agents' API (docs/daemon.md): larger or slower requests are refused.
    max_body_bytes: int = 64 * 1024  # 413 above
    max_json_depth: int = 32  # nested arrays/objects; 400 deeper
    body_timeout: float = 10.0  # seconds to receive a request body; 408 after
    header_timeout: float = 10.0  # seconds to receive a request's headers; the connection is closed after
    keep_alive_timeout: float = 5.0  # an idle connection is closed after
    max_header_bytes: int = 16 * 1024  # request line and headers; 431/400 above
    max_connections: int = 200  # concurrent connections; 503 above
    # The customer's number on the agent's screen: "full", "last4" (+1 *** *** 0143) or "hidden".
    screen_number: str = "last4"
    # TLS: both files (PEM) to serve HTTPS; the session cookie is then Secure.  Empty: plain HTTP.
    cert_file: str = ""
    key_file: str = ""
    # Origins (comma-separated, e.g. "https://desk.example.com") allowed to call the API from a
    # desktop served elsewhere (CORS); empty: none.
    cors_origins: str = ""
    # A bearer token /metrics asks for (Prometheus ``authorization: credentials``); empty: none
    # (the probes /healthz and /readyz never ask: bind the API to a private address).
    metrics_token: Secret = field(default_factory=lambda: Secret(""))

    @property
    def cors_list(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip()]

    def limit_problems(self) -> list[str]:
        """The API limits out of their ranges, one line each (for :func:`validate`)."""
        bounds: dict[str, tuple[float, float]] = {
            "max_body_bytes": (1024, 1 << 30), "max_json_depth": (2, 1000), "body_timeout": (0.1, 3600),
            "header_timeout": (0.1, 3600), "keep_alive_timeout": (0.1, 3600),
            "max_header_bytes": (1024, 1 << 20), "max_connections": (1, 100_000),
        }
        problems = [f"http.{name} {getattr(self, name)!r} is not between {low:g} and {high:g}"
                    for name, (low, high) in bounds.items() if not low <= getattr(self, name) <= high]
        if bool(self.cert_file) != bool(self.key_file):
            problems.append("http.cert_file and http.key_file: give both (TLS) or neither")
        for name in ("cert_file", "key_file"):
            path = getattr(self, name)
            if path and not Path(path).is_file():
                problems.append(f"http.{name} {path!r}: no such file")
        for origin in self.cors_list:
            if origin != "*" and not re.fullmatch(r"https?://[^/\s]+", origin):
                problems.append(f"http.cors_origins: {origin!r} is not an origin like https://desk.example.com")
        if self.screen_number not in SCREEN_NUMBER:
            problems.append(f"http.screen_number {self.screen_number!r} is not one of {', '.join(SCREEN_NUMBER)}")
        return problems


@dataclass
class SchedulerSettings:
    timezone: str = "UTC"
    # job name -> cron expression ("minute hour day month day_of_week"); empty disables a job
    jobs: dict[str, str] = field(default_factory=dict)


@dataclass
class ListsSettings:
    # Country (ISO 3166 alpha-2, e.g. "US") of national numbers (no +country code) in lead and
    # DNC files, when `--region` is not given; empty: such numbers are an error.
    default_region: str = ""


@dataclass
class Settings:
    # The platform's user data directory unless set (dialer.resources.default_data_dir).
    data_dir: Path = field(default_factory=default_data_dir)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    ami: AmiSettings = field(default_factory=AmiSettings)
    log: LogSettings = field(default_factory=LogSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)
    lists: ListsSettings = field(default_factory=ListsSettings)

    @property
    def database_url(self) -> str:
        """The configured URL, or the default SQLite file in the data directory."""
        if self.database.url:
            return self.database.url
        return f"sqlite:///{(self.data_dir / 'dialer.db').as_posix()}"

    def public_dict(self) -> dict[str, Any]:
        """Settings as plain data with every secret and password masked (for ``--json`` and logs)."""
        data = _to_plain(self)
        data["database"]["url"] = mask_url(self.database_url)
        return data


def changed_keys(old: Settings, new: Settings) -> list[str]:
    """The dotted keys (``log.level``, ``scheduler.jobs``) whose values differ between two
    settings, compared as :meth:`Settings.public_dict` shows them (a secret's change is not seen:
    it needs a restart anyway).  Names only: the audit log of a reload holds no values."""
    def flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in data.items():
            if isinstance(value, dict) and value and key != "jobs":
                out |= flat(value, f"{prefix}{key}.")
            else:
                out[f"{prefix}{key}"] = value
        return out

    before, after = flat(old.public_dict()), flat(new.public_dict())
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def _to_plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return {f.name: _to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Secret | Path):
        return str(obj)
    if isinstance(obj, dict):
        return {k: _to_plain(v) for k, v in obj.items()}
    return obj


def _coerce(name: str, current: Any, value: Any) -> Any:
    """Convert ``value`` (from TOML or an environment string) to the type of ``current``."""
    try:
        if isinstance(current, Secret):
            return Secret(str(value))
        if isinstance(current, bool):
            if isinstance(value, str):
                if value.lower() in {"1", "true", "yes", "on"}:
                    return True
                if value.lower() in {"0", "false", "no", "off"}:
                    return False
                raise ValueError(value)
            return bool(value)
        if isinstance(current, int | float):
            return type(current)(value)
        if isinstance(current, Path):
            return Path(value)
        if isinstance(current, dict):
            if not isinstance(value, Mapping):
                raise ValueError(value)
            return {str(k): str(v) for k, v in value.items()}
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"setting {name}: cannot use {value!r} as {type(current).__name__}") from None


def _apply(target: Any, data: Mapping[str, Any], prefix: str, source: str) -> None:
    names = {f.name for f in dataclasses.fields(target)}
    for key, value in data.items():
        full = f"{prefix}{key}"
        if key not in names:
            raise ConfigError(f"{source}: unknown setting {full!r}")
        current = getattr(target, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, Mapping):
                raise ConfigError(f"{source}: setting {full!r} must be a table")
            _apply(current, value, f"{full}.", source)
        else:
            setattr(target, key, _coerce(f"{source}: {full}", current, value))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: settings file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


_SHORT_ENV = {"DIALER_DATABASE_URL": ("database", "url"), "DIALER_DATA_DIR": (None, "data_dir")}


def load_settings(config_file: Path | str | None = None, env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    settings = Settings()
    if DEFAULT_CONFIG_FILE.exists():
        _apply(settings, _read_toml(DEFAULT_CONFIG_FILE), "", str(DEFAULT_CONFIG_FILE))
    config_file = config_file or env.get("DIALER_CONFIG")
    if config_file:
        path = Path(config_file)
        _apply(settings, _read_toml(path), "", str(path))
    sections = {f.name for f in dataclasses.fields(settings) if dataclasses.is_dataclass(getattr(settings, f.name))}
    for var, value in env.items():
        if not var.startswith("DIALER_") or var == "DIALER_CONFIG" or var.startswith("DIALER_TEST_"):
            continue
        if var in _SHORT_ENV:
            section, key = _SHORT_ENV[var]
        else:
            rest = var[len("DIALER_"):].lower()
            section, _, key = rest.partition("_")
            if section not in sections or not key:
                continue  # not a settings variable (e.g. DIALER_SIM_SEED for the simulator)
        data: dict[str, Any] = {key: value} if section is None else {section: {key: value}}
        _apply(settings, data, "", f"environment variable {var}")
    validate(settings)
    return settings


_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def validate(settings: Settings) -> None:
    """Check every value at start, so a wrong one is a one-line error naming the setting
    instead of a traceback later (``DIALER_LOG_LEVEL=LOUD``, ``DIALER_HTTP_PORT=99999``)."""
    problems: list[str] = []
    log = settings.log
    if log.level.upper() not in _LEVELS:
        problems.append(f"log.level {log.level!r} is not one of {', '.join(_LEVELS)}")
    else:
        log.level = log.level.upper()
    if log.format not in ("text", "json"):
        problems.append(f"log.format {log.format!r} is not 'text' or 'json'")
    for name, port in (("ami.port", settings.ami.port), ("http.port", settings.http.port)):
        if not 1 <= port <= 65535:
            problems.append(f"{name} {port} is not a TCP port (1-65535)")
    for name, host in (("ami.host", settings.ami.host), ("http.host", settings.http.host)):
        if not host.strip() or any(ch.isspace() for ch in host):
            problems.append(f"{name} {host!r} is not a host name or address")
    problems += settings.http.limit_problems()
    ami = settings.ami
    for name in ("connect_timeout", "action_timeout", "ping_interval", "reconnect_max_delay"):
        value = getattr(ami, name)
        if not 0 < value <= 3600:
            problems.append(f"ami.{name} {value!r} must be more than 0 and at most 3600 seconds")
    if not ami.username or any(ch in ami.username for ch in "\r\n"):
        problems.append("ami.username must be a non-empty single line")
    if any(ch in ami.secret.reveal() for ch in "\r\n"):
        problems.append("ami.secret must be a single line")
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(settings.scheduler.timezone)
    except (ValueError, KeyError, OSError):
        problems.append(f"scheduler.timezone {settings.scheduler.timezone!r} is not an IANA time zone")
    region = settings.lists.default_region.strip().upper()
    if region:
        import phonenumbers  # only when set: its metadata takes a moment to load

        if region not in phonenumbers.SUPPORTED_REGIONS:
            problems.append(f"lists.default_region {settings.lists.default_region!r} is not an ISO 3166 "
                            "alpha-2 country code (e.g. US, GB, HU)")
    settings.lists.default_region = region
    if problems:
        raise ConfigError("settings: " + "; ".join(problems))
