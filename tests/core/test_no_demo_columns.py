"""No column of the demo lender is named in the platform's code: everything shaped by the data comes from the contract.

The lender's column names are read from its own contract (``schema`` in params.yaml);
every Python file of the platform is searched for them as whole words, except the
generator that makes the lender's data (``core/synthetic.py``). Tests of the demo and
the examples' own folders may name their columns; the platform may not.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.settings import PROJECT_ROOT, load_settings

pytestmark = pytest.mark.unit

ALLOWED = {PROJECT_ROOT / "core" / "synthetic.py"}
# Generic words that happen to be lender columns too: the draft's vocabulary for guessing
# sensitive attributes by name (features/contract_draft.py SENSITIVE_NAMES), nothing else.
VOCABULARY = {("features/contract_draft.py", "SENSITIVE_NAMES = (")}
NOT_PLATFORM = ("tests", "examples", "projects", ".venv", ".state", "data", "node_modules")


def demo_columns() -> set[str]:
    schema = load_settings(environ={}).schema_
    return {*schema.required_columns, *load_settings(environ={}).features.ratios}


def platform_files() -> list[Path]:
    return [
        path
        for path in sorted(PROJECT_ROOT.rglob("*.py"))
        if path.relative_to(PROJECT_ROOT).parts[0] not in NOT_PLATFORM and path not in ALLOWED
    ]


def test_the_platform_code_names_no_column_of_the_demo_lender() -> None:
    pattern = re.compile(r"\b(" + "|".join(sorted(map(re.escape, demo_columns()))) + r")\b")
    found = [
        f"{path.relative_to(PROJECT_ROOT)}:{number}: {match.group(0)}"
        for path in platform_files()
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        for match in [pattern.search(line)]
        if match and not any(str(path.relative_to(PROJECT_ROOT)) == f and line.startswith(p) for f, p in VOCABULARY)
    ]
    assert not found, "demo columns named outside the contract:\n" + "\n".join(found)


def test_the_search_would_find_one() -> None:
    """The check can fail: a lender column in a platform-like file is found."""
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, demo_columns())) + r")\b")
    assert pattern.search('columns = FeatureColumns(("loan_amount", "other"), ())')
    assert not pattern.search("region_name = 'us-east-1'  # an S3 client's keyword, not the column")
    assert len(platform_files()) > 50
