"""The workshop's page of the maturity model says what the assessment scores against, word for word."""

from __future__ import annotations

from pathlib import Path

import pytest

from maturity.model import COMPONENTS, LEVEL_NAMES, TABLE, TITLES

pytestmark = pytest.mark.unit

PAGE = Path(__file__).resolve().parents[2] / "docs" / "workshop" / "maturity-model.md"


def test_the_component_table_on_the_page_is_the_one_the_assessment_uses() -> None:
    lines = PAGE.read_text().splitlines()
    header = "| component | " + " | ".join(f"Level {n}: {LEVEL_NAMES[n]}" for n in range(5)) + " |"
    assert header in lines
    for component in COMPONENTS:
        assert f"| {TITLES[component]} | " + " | ".join(TABLE[component]) + " |" in lines, component


def test_the_workshop_points_inside_the_repository() -> None:
    for page in PAGE.parent.glob("*.md"):
        assert "../shared" not in page.read_text(), page.name
