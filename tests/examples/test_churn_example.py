"""The churn example: its committed file is what its generator writes, and (slow) its whole loop promotes.

``make pipeline PARAMS=examples/churn/params.yaml`` on a fresh clone: train, serve, a
normal week and two drifted weeks replayed from the file's held-back weeks, the drift
trigger, a retraining, the canary under traffic, and a promotion.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from core import registry
from core.environment import apply_tool_environment
from core.settings import PROJECT_ROOT, load_settings

EXAMPLE = PROJECT_ROOT / "examples" / "churn"

pytestmark = pytest.mark.data


def test_the_committed_file_is_what_the_generator_writes() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("churn_generate", EXAMPLE / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    pd.testing.assert_frame_equal(module.generate(), pd.read_parquet(EXAMPLE / "renewals.parquet"))


@pytest.mark.slow
@pytest.mark.long
@pytest.mark.e2e
@pytest.mark.timeout(1200)  # about 3 minutes alone on 2 cores; room for a busy machine
def test_the_whole_loop_runs_on_the_example_and_promotes_a_retrained_model(tmp_path: Path) -> None:
    from pipelines.flows.loop import run_loop

    # The example as shipped, in a folder of its own (its data and state land beside it),
    # with a search of 2 candidates instead of 8: the loop's outcome on this data is what is
    # tested, and the search is what takes the time (it runs twice, to train and to retrain).
    shutil.copy(EXAMPLE / "renewals.parquet", tmp_path / "renewals.parquet")
    tree = yaml.safe_load((EXAMPLE / "params.yaml").read_text())
    tree["training"]["search"]["budget"] = 2
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tree))
    settings = load_settings(tmp_path / "params.yaml", environ={})
    apply_tool_environment(settings)

    result = run_loop(settings, report=lambda line: None)

    assert result.training is not None and result.training.registration.alias == registry.CHAMPION
    normal = result.weeks[0]
    assert normal.scenario == "none" and normal.monitor is not None and normal.monitor.trigger is None
    assert all(w.traffic.errors == 0 and w.traffic.sent > 1000 for w in result.weeks)
    retrained = result.retrained
    assert retrained is not None and retrained.registration.alias == registry.CHALLENGER
    canary = result.canary
    assert canary is not None
    assert canary.outcome == "promoted", canary.history
    assert result.aliases[registry.CHAMPION] == retrained.registration.version
