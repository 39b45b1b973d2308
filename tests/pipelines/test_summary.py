"""What a run prints keeps the file and key a refusal names (rich would take "[set by ...]" for markup)."""

from __future__ import annotations

import pytest

from core.settings import Settings
from pipelines import summary

pytestmark = pytest.mark.unit


def test_a_refusal_printed_at_the_end_still_names_its_file_and_key(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    failure = "age.range (ExpectColumnValuesToBeBetween): 3 unexpected [set by params.yaml schema.numeric.age.min/max]"
    message = f"week_1 (quarantined in q):\n    {failure}"
    summary.print_failure(settings, message)
    printed = " ".join(capsys.readouterr().out.split())  # rich wraps long lines
    assert "[set by params.yaml schema.numeric.age.min/max]" in printed
