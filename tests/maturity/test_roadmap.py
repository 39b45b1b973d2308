"""The next step is a task of the roadmap phase that follows the level reached."""

from __future__ import annotations

from pathlib import Path

import pytest

from maturity.model import COMPONENTS, PHASE_TASKS, PHASES, ROADMAP
from maturity.scoring import CRITERIA, assess

pytestmark = pytest.mark.unit


def test_every_roadmap_task_is_one_of_its_phases_tasks() -> None:
    for phase, components in ROADMAP.items():
        assert set(components) == set(COMPONENTS)
        for tasks in components.values():
            assert set(tasks) <= set(PHASE_TASKS[phase]), (phase, tasks)


def test_every_cell_of_the_table_has_a_practice_with_a_probe() -> None:
    from maturity.probes import PROBES

    for component in COMPONENTS:
        assert sorted(CRITERIA[component]) == [1, 2, 3, 4]
        for practices in CRITERIA[component].values():
            assert practices and all(name in PROBES for p in practices for name in p.probes)


def test_the_next_step_names_the_following_phase_and_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("import mlflow\nmlflow.autolog()\n")
    development = assess(tmp_path).components[1]
    assert development.score == 1
    assert development.next_steps[0] == f"{PHASES[2]}: Set up model registry"
    assert development.next_steps[1].startswith("Level 2 needs: Automated hyperparameter optimization")
    assert any(
        step.startswith("automated hyper-parameter optimization: no automated") for step in development.next_steps
    )
    decisive = development.decisive
    assert decisive is not None and decisive.where == "train.py:2"
