"""Files the command line needs at run time: the settings file, the example campaigns, the
Asterisk configuration, the pacing scenarios.

The checkout's ``config/`` and ``benchmarks/scenarios/`` are their one source.  A built wheel
carries copies in ``dialer/_shipped/`` (``setup.py``'s build step writes them), so an installed
``dialer`` finds them without the checkout; run from the checkout (or an editable install),
the checkout's own folders are used.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
SHIPPED_DIR = PACKAGE_DIR / "_shipped"
CHECKOUT_DIR = PACKAGE_DIR.parent

#: name of each shipped folder -> its source in the checkout (``setup.py`` copies the same).
SOURCES: dict[str, str] = {"config": "config", "scenarios": "benchmarks/scenarios"}


def shipped(name: str) -> Path:
    """The folder ``name`` (``config``, ``scenarios``): the wheel's copy, else the checkout's."""
    if name not in SOURCES:
        raise KeyError(f"no shipped folder {name!r}; expected one of {', '.join(SOURCES)}")
    inside = SHIPPED_DIR / name
    return inside if inside.is_dir() else CHECKOUT_DIR / SOURCES[name]


def config_dir() -> Path:
    """The shipped ``config/``: ``dialer.toml``, ``campaigns/``, ``asterisk/``."""
    return shipped("config")


def scenarios_dir() -> Path:
    """The shipped pacing scenarios (``benchmarks/scenarios/*.toml`` of the checkout)."""
    return shipped("scenarios")


def default_data_dir() -> Path:
    """Where the database, tokens, reports and logs go unless ``data_dir`` says otherwise: the
    platform's user data directory (``$XDG_DATA_HOME/dialer``, by default
    ``~/.local/share/dialer`` on Linux).  A service sets ``DIALER_DATA_DIR=/var/lib/dialer``."""
    from platformdirs import user_data_path

    return user_data_path("dialer", appauthor=False).absolute()
