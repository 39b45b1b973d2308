"""A copy of this project in a temporary folder: what the maturity assessment inspects."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from maturity.scoring import Assessment
from tests.conftest import ROOMY_GATE, SMALL_DATA, SMALL_TRAINING, write_params

PROJECT = Path(__file__).resolve().parents[2]


def git(folder: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=tests", "-c", "user.email=tests@example.invalid", *args],
        cwd=folder,
        check=True,
        capture_output=True,
    )


def copy_project(target: Path) -> Path:
    """The project's committed files (code, configuration, CI, docs) as a fresh git repository."""
    listed = subprocess.run(["git", "-C", str(PROJECT), "ls-files"], capture_output=True, text=True, check=True)
    for name in listed.stdout.splitlines():
        source = PROJECT / name
        if source.is_file() and name != "uv.lock":
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    write_params(target, data=SMALL_DATA, training=SMALL_TRAINING, gate=ROOMY_GATE)
    git(target, "init", "-q")
    git(target, "add", "-A")
    git(target, "commit", "-qm", "copy of the template")
    return target


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")


def scores(assessment: Assessment) -> dict[str, int]:
    return {c.component: c.score for c in assessment.components}


def failing(assessment: Assessment, level: int) -> dict[str, list[str]]:
    """What stops each component at ``level``: printed when an assertion fails."""
    return {
        c.component: [f"{e.probe}: {e.detail}" for e in c.evidence[level] if not e.ok] for c in assessment.components
    }
