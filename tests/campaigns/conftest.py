"""Helpers for the campaign core tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from campaigns.definition import CampaignDefinition, parse_definition

EXAMPLES = Path(__file__).resolve().parents[2] / "config" / "campaigns"

MINIMAL: dict[str, Any] = {"name": "test", "dial": {"trunk": "PJSIP/{number}@carrier"}}


def make_definition(**overrides: Any) -> CampaignDefinition:
    """A valid definition from MINIMAL with top-level keys replaced."""
    return parse_definition({**MINIMAL, **overrides}, "test.toml")


@pytest.fixture
def definition_factory() -> Callable[..., CampaignDefinition]:
    return make_definition
