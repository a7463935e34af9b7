"""Helpers over the recorded AMI captures (both runs), shared by the AMI and tracking tests."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ami"
FIRST_RUN = sorted(FIXTURES.glob("*.ami"))
SECOND_RUN = sorted((FIXTURES / "second-run").glob("*.ami"))
ALL_CAPTURES = FIRST_RUN + SECOND_RUN
SCENARIOS = [p.stem for p in FIRST_RUN]


def capture_id(path: Path) -> str:
    return ("2/" if path.parent.name == "second-run" else "1/") + path.stem


def both_runs(scenario: str) -> list[Path]:
    """The first and second recording of one scenario (``"09-burst-concurrent"`` or ``"09"``)."""
    out = [p for p in ALL_CAPTURES if p.stem == scenario or p.stem.startswith(scenario + "-")]
    assert len(out) == 2, (scenario, out)
    return out
