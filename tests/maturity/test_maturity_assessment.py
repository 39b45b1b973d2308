"""The maturity assessment on repositories whose maturity is known: nothing there, one script, this template."""

from __future__ import annotations

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
    assert all(c.next_steps[0].startswith("reach Level 1") for c in assessment.components)


def test_a_repository_with_one_training_script_scores_zero(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(TRAINING_SCRIPT)
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "train.py")
    git(tmp_path, "commit", "-qm", "train")
    assessment = assess(tmp_path)
    assert assessment.overall == 0 and assessment.score("model_development") == 0
    # It does have version control: the evidence says so, and says what else Level 1 needs.
    data = {e.probe: e for e in assessment.components[0].evidence[1]}
    assert data["git"].status == "pass" and "1 commit" in data["git"].detail


def test_this_template_unrun_scores_from_its_files_and_the_evidence_is_checked(project_copy: Path) -> None:
    """Before any run: configuration alone, live evidence unverified; removing DVC lowers data management."""
    before = assess(project_copy)
    assert not before.live and before.note is not None
    assert before.score("data_management") == 3 and before.score("model_development") == 3
    dvc = next(e for e in before.components[0].evidence[2] if e.probe == "dvc_config")
    assert dvc.status == "pass" and "remote 'local'" in dvc.detail

    shutil.rmtree(project_copy / ".dvc")
    after = assess(project_copy)
    assert after.score("data_management") < before.score("data_management")
    dvc = next(e for e in after.components[0].evidence[2] if e.probe == "dvc_config")
    assert dvc.status == "fail" and "no .dvc/config" in dvc.detail
    # Only the evidence DVC stands for moved.
    assert [after.score(c) for c in COMPONENTS[1:]] == [before.score(c) for c in COMPONENTS[1:]]


def test_a_remote_less_dvc_config_is_not_evidence(project_copy: Path) -> None:
    config = project_copy / ".dvc" / "config"
    config.write_text("[core]\n    analytics = false\n")
    assert assess(project_copy).score("data_management") == 1


def test_the_command_line_writes_the_table_the_report_and_the_chart(project_copy: Path, tmp_path: Path) -> None:
    # Into the copy's own state folder, as `make assess` does: the report must not count as a run.
    out = project_copy / ".state" / "reports" / "maturity"
    command = [sys.executable, "-m", "maturity", "assess", "--repo", str(project_copy), "--out", str(out)]
    done = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Data management" in done.stdout and "Overall: Level" in done.stdout
    report = (out / "maturity.md").read_text()
    assert "## Governance: Level" in report and "✓ `dvc_config`" in report and "Phase" in report
    assert (out / "maturity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not assess(project_copy).live
    bad = subprocess.run(
        [*command[:-4], "--repo", str(tmp_path / "nowhere")], cwd=PROJECT, capture_output=True, text=True
    )
    assert bad.returncode == 2 and "is not a folder" in bad.stderr
