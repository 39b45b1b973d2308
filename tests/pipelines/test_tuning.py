import pandas as pd
import pytest

from core.settings import load_settings
from core.synthetic import LenderConfig, generate_week
from features.engineering import FeatureColumns
from pipelines.steps.tuning import Constraints, ScoredCandidate, candidates, search

pytestmark = pytest.mark.unit

SETTINGS = load_settings()


def test_candidates_respect_the_budget_alternate_families_and_repeat() -> None:
    training = SETTINGS.training.model_copy(
        update={"search": SETTINGS.training.search.model_copy(update={"budget": 5})}
    )
    drawn = candidates(training)
    assert len(drawn) == 5
    assert [c.family for c in drawn[:2]] == ["logistic_regression", "gradient_boosting"]
    assert drawn == candidates(training)  # seeded
    assert len({c.label for c in drawn}) == 5


def test_search_scores_every_candidate_and_prefers_eligible_ones() -> None:
    config = LenderConfig(applications_per_week=500, customers=1500)
    frame = pd.concat([generate_week(config, w) for w in range(1, 8)], ignore_index=True)
    columns = FeatureColumns.from_schema(SETTINGS.schema_)
    training = SETTINGS.training.model_copy(
        update={"search": SETTINGS.training.search.model_copy(update={"budget": 4})}
    )
    seen: list[ScoredCandidate] = []
    best, scored = search(frame, SETTINGS.schema_, columns, training, on_candidate=seen.append)
    assert len(scored) == len(seen) == 4
    assert best.metrics["roc_auc"] > 0.7 and best.split.holdout_start > best.split.train["event_timestamp"].max()

    impossible = Constraints(minimums={"roc_auc": 2.0}, maximums={})
    _, none_eligible = search(frame, SETTINGS.schema_, columns, training, impossible)
    assert not any(s.eligible for s in none_eligible)  # falls back to the best overall

    calibrated = Constraints(minimums={}, maximums={"calibration_error": 0.05})
    chosen, ranked = search(frame, SETTINGS.schema_, columns, training, calibrated)
    eligible = [s for s in ranked if s.eligible]
    if eligible:
        assert chosen.params in [s.candidate.params for s in eligible]
