"""The cluster canary's quality job (``python -m monitoring.quality_check``) on a real prediction log,
real label files and real registered models: its exit status is the Argo Rollouts verdict.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from core import registry
from core.settings import Settings
from features import store
from features.engineering import FeatureColumns
from monitoring import quality_check
from monitoring.canary_quality import compare, offline_scorer
from serving.canary import CANARY_FILE, load_canary_config
from tests.monitoring.test_canary_quality import serve
from tests.serving.conftest import prepare_workspace, register_model

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, pd.DataFrame, str, str]:
    """A champion and a much worse challenger (it reads two columns only)."""
    settings, frame = prepare_workspace(tmp_path_factory.mktemp("quality-check"))
    champion = register_model(settings, frame, registry.CHAMPION)
    weak = FeatureColumns(store.model_feature_columns(settings).numeric[:2], ())
    worse = register_model(settings, frame, registry.CHALLENGER, columns=weak)
    return settings, frame, champion, worse


def run(settings: Settings, *args: str) -> int:
    return quality_check.main(["--params", str(settings.params_file), *args])


def test_the_exit_status_follows_the_labels_as_they_arrive(
    registered: tuple[Settings, pd.DataFrame, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    settings, frame, champion, worse = registered
    assert run(settings, "--challenger", worse) == quality_check.PASS  # nothing logged yet
    assert "no logged answers" in capsys.readouterr().out

    rows = frame.tail(700).reset_index(drop=True)
    half = [champion if i % 2 else worse for i in range(len(rows))]
    serve(settings, rows.head(150), half[:150], "early")
    assert run(settings, "--challenger", worse) == quality_check.PASS  # 150 labelled rows: not judged yet
    assert "fewer than 200 labelled rows" in capsys.readouterr().out

    serve(settings, rows.iloc[150:], half[150:], "late")
    assert run(settings, "--challenger", worse) == quality_check.FAIL  # surely worse: Argo's Failed
    said = capsys.readouterr().out
    assert said.startswith("worse:") and f"v{worse} against v{champion}" in said and "below the champion" in said
    assert run(settings, "--challenger", worse, "--since", "2999-01-01") == quality_check.PASS  # only since then
    # The defaults are the registry's aliases: the challenger alias, against the champion alias.
    assert run(settings) == quality_check.FAIL


def test_inconclusive_is_its_own_status_held_while_the_data_cannot_tell(
    registered: tuple[Settings, pd.DataFrame, str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings, _, champion, worse = registered
    if quality_check.challenger_since(settings, worse) is None:  # run alone: log the rows the first test logs
        frame = registered[1].tail(700).reset_index(drop=True)
        serve(settings, frame, [champion if i % 2 else worse for i in range(len(frame))], "late")
    # An allowance at the measured degradation: the interval straddles it, so the data cannot tell.
    metrics = load_canary_config().metrics
    measured = compare(
        settings, champion, worse, "2000-01-01", metrics.min_labelled, metrics.confidence, offline_scorer(settings)
    )
    assert measured is not None and measured.degradation.low < measured.degradation.high
    tree = yaml.safe_load(CANARY_FILE.read_text())
    tree["metrics"]["max_quality_degradation"] = round(measured.degradation.estimate, 6)
    canary = tmp_path / "canary.yaml"
    canary.write_text(yaml.safe_dump(tree))

    assert run(settings, "--challenger", worse, "--canary", str(canary)) == quality_check.INCONCLUSIVE
    assert capsys.readouterr().out.startswith("inconclusive:")
    assert run(settings, "--challenger", worse, "--canary", str(canary), "--inconclusive-passes") == quality_check.PASS

    slept: list[float] = []
    seen: list[str] = []
    status = quality_check.check(
        settings,
        worse,
        hold=120,
        every=60,
        metrics=load_canary_config(canary).metrics,
        report=seen.append,
        sleep=slept.append,
    )
    assert status == quality_check.INCONCLUSIVE and slept == [60, 60] and len(seen) == 3  # checked at 0, 60, 120 s


def test_a_check_that_cannot_run_is_not_a_verdict(
    registered: tuple[Settings, pd.DataFrame, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    settings, frame, champion, worse = registered
    if quality_check.challenger_since(settings, worse) is None:  # run alone
        rows = frame.tail(400).reset_index(drop=True)
        serve(settings, rows, [champion if i % 2 else worse for i in range(len(rows))], "alone")
    assert run(settings, "--challenger", worse, "--champion", "99") == quality_check.BROKEN  # no such version
    assert "could not run" in capsys.readouterr().err
