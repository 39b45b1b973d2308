"""The CI/CD/CT workflow templates: valid GitHub Actions workflows that call make verbs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.settings import PROJECT_ROOT
from tests.infra.conftest import schema_check

pytestmark = pytest.mark.unit

WORKFLOWS = sorted((PROJECT_ROOT / ".github" / "workflows").glob("*.yaml"))


def makefile_targets() -> set[str]:
    text = (PROJECT_ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-z][a-z0-9-]*):", text, flags=re.MULTILINE))


def test_there_are_ci_cd_and_ct_workflows() -> None:
    assert {"ci.yaml", "cd.yaml", "ct.yaml", "deploy.yaml"} <= {p.name for p in WORKFLOWS}


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_each_workflow_matches_the_github_actions_schema(workflow: Path) -> None:
    checked = schema_check(workflow, "vendor.github-workflows")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_schema_check_can_fail(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text((PROJECT_ROOT / ".github" / "workflows" / "ci.yaml").read_text().replace("runs-on:", "run-on:"))
    assert schema_check(broken, "vendor.github-workflows").returncode != 0


def test_workflows_call_the_same_make_targets_as_a_developer() -> None:
    targets = makefile_targets()
    for workflow in WORKFLOWS:
        code = re.sub(r"(^|\s)#.*", "", workflow.read_text())  # comments may say "make" too
        used = set(re.findall(r"\bmake (?:-s )?([a-z][a-z0-9-]*)", code))
        missing = used - targets
        assert not missing, f"{workflow.name} calls make targets that do not exist: {sorted(missing)}"


def test_no_credentials_in_workflows() -> None:
    """Secrets come from the CI host's secret store, by reference only."""
    for workflow in WORKFLOWS:
        for line in workflow.read_text().splitlines():
            if re.search(r"(PASSWORD|SECRET|KEY|REDIS_CONNECTION|REGISTRY_URL)\w*:\s", line):
                assert "${{ secrets." in line, f"{workflow.name}: {line.strip()}"
