"""The build step that makes the wheel complete: the checkout's ``config/`` (settings, example
campaigns, Asterisk files) and ``benchmarks/scenarios/`` are copied into ``dialer/_shipped/``
of the built package (``dialer/resources.py`` finds them there).  Everything else is in
``pyproject.toml``."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
#: Keep equal to ``dialer.resources.SOURCES`` (tests/packaging checks the wheel holds them).
SHIPPED = {"config": "config", "scenarios": "benchmarks/scenarios"}


class BuildPyWithConfig(build_py):
    """``build_py`` plus the shipped folders (not for editable installs: those read the checkout)."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for name, source in SHIPPED.items():
            target = Path(self.build_lib, "dialer", "_shipped", name)
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(ROOT / source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))


setup(cmdclass={"build_py": BuildPyWithConfig})
