"""Level 4 preview: drifted features traced back to the raw fields they are computed from."""

from __future__ import annotations

import pytest

from core.settings import Settings
from maturity.preview import feature_sources, root_cause_hints

pytestmark = pytest.mark.unit


def test_every_model_feature_has_a_recipe_back_to_raw_fields(settings: Settings) -> None:
    from features.store import model_feature_columns

    sources = feature_sources(settings)
    assert set(model_feature_columns(settings).all) <= set(sources)
    assert sources["loan_to_income"] == ("loan_amount", "annual_income")
    assert sources["loan_amount_mean_90d"] == ("loan_amount",)
    assert sources["age"] == ("age",)


def test_a_raw_field_that_feeds_several_drifted_features_is_ranked_first(settings: Settings) -> None:
    drifted = [("loan_to_income", 2.0), ("loan_amount_mean_90d", 1.5), ("loan_amount", 1.2), ("age", 1.1)]
    hints = root_cause_hints(settings, drifted)
    assert [h.source for h in hints] == ["loan_amount", "age", "annual_income"]
    assert hints[0].explains == ("loan_to_income", "loan_amount_mean_90d", "loan_amount")
    assert hints[0].weight == 1.0 + 1.5 + 1.2  # the ratio's severity is shared with its denominator
    assert "drifted itself" in str(hints[0]) and "feeds loan_to_income" in str(hints[0])
    assert root_cause_hints(settings, []) == []
