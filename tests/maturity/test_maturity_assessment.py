"""The maturity assessment on repositories whose maturity is known: nothing there, one script, this template."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from maturity.model import COMPONENTS
from maturity.scoring import assess
from tests.maturity.conftest import PROJECT, git

pytestmark = pytest.mark.e2e

TRAINING_SCRIPT = """
import pandas as pd
from sklearn.linear_model import LogisticRegression

frame = pd.read_csv("loans.csv")
model = LogisticRegression().fit(frame.drop(columns="is_default"), frame["is_default"])
print("accuracy", model.score(frame.drop(columns="is_default"), frame["is_default"]))
"""


def test_an_empty_repository_scores_zero_everywhere(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    assessment = assess(tmp_path)
    assert [c.score for c in assessment.components] == [0] * 5
    assert [c.provisional for c in assessment.components] == [0] * 5
    assert all(c.next_steps[0].startswith("Phase 1: Foundation: ") for c in assessment.components)
    assert not assessment.provisional and assessment.note is not None and "judged from its files" in assessment.note


def test_a_repository_with_one_training_script_scores_zero(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(TRAINING_SCRIPT)
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "train.py")
    git(tmp_path, "commit", "-qm", "train")
    assessment = assess(tmp_path)
    assert assessment.overall == 0 and assessment.score("model_development") == 0
    # It does have version control: the evidence says so, and says what else Level 1 needs.
    git_history = next(e for e in assessment.components[0].context if e.probe == "git")
    assert git_history.status == "pass" and "1 commit" in git_history.detail
    tracking = next(e for e in assessment.components[1].evidence[1] if e.probe == "tracking_code")
    assert tracking.status == "fail" and "no experiment tracking" in tracking.detail


def test_a_never_run_copy_of_this_template_is_provisional_and_scores_0_verified(project_copy: Path) -> None:
    """Configuration alone is not Level 3: live evidence unverified, the files' Level 3 only provisional."""
    before = assess(project_copy)
    assert not before.live and before.provisional and before.note is not None and "provisional" in before.note
    assert [before.score(c) for c in COMPONENTS] == [0] * 5  # the verified score, the one that counts
    assert [before.provisional_score(c) for c in COMPONENTS] == [3] * 5
    assert before.overall == 0 and before.overall_provisional == 3
    data = before.components[0]
    versioning = next(e for e in data.evidence[1] if e.probe == "data_versioning")
    assert versioning.status == "pass" and "remote 'local'" in versioning.detail
    assert next(e for e in data.evidence[1] if e.probe == "run_versions").status == "unverified"
    assert data.decisive is None and data.decisive_provisional is not None

    shutil.rmtree(project_copy / ".dvc")
    after = assess(project_copy)
    versioning = next(e for e in after.components[0].evidence[1] if e.probe == "data_versioning")
    # Without DVC, its data versions are the digests its runs log (checked, not assumed).
    assert versioning.status == "pass" and "dataset digests logged with runs" in versioning.detail
    assert "DVC" not in versioning.detail and versioning.where is not None
    assert [after.provisional_score(c) for c in COMPONENTS] == [before.provisional_score(c) for c in COMPONENTS]


def test_the_command_line_writes_the_table_the_report_and_the_chart(project_copy: Path, tmp_path: Path) -> None:
    # Into the copy's own state folder, as `make assess` does: the report must not count as a run.
    out = project_copy / ".state" / "reports" / "maturity"
    command = [sys.executable, "-m", "maturity", "assess", "--repo", str(project_copy), "--out", str(out)]
    done = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Data management" in done.stdout and "Overall: Level" in done.stdout
    report = (out / "maturity.md").read_text()
    assert "## Governance: Level" in report and "✓ `data_versioning`" in report and "Phase 1: Foundation" in report
    assert "| Data management | 0 | 3 |" in report and "Provisional: Level 3" in report
    assert json.loads((out / "maturity.json").read_text())["overall_provisional"] == 3
    assert (out / "maturity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not assess(project_copy).live
    bad = subprocess.run(
        [*command[:-4], "--repo", str(tmp_path / "nowhere")], cwd=PROJECT, capture_output=True, text=True
    )
    assert bad.returncode == 2 and "is not a folder" in bad.stderr
