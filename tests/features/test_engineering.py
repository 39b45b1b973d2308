"""Feature engineering as plain functions: windows, availability, request-time ratios."""

import numpy as np
import pandas as pd
import pytest

from core.settings import Settings
from features.engineering import (
    AVAILABILITY_LAG,
    complete_features,
    entity_history,
    history_feature_names,
    latest_history_values,
)

pytestmark = pytest.mark.unit


def applications(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "event_timestamp", "loan_amount"])
    frame["event_timestamp"] = pd.to_datetime(frame["event_timestamp"], utc=True)
    frame["credit_utilization"] = 0.5
    frame["num_late_payments_12m"] = 1
    frame["num_credit_inquiries_6m"] = 2
    return frame


def test_history_rows_count_the_trailing_window_and_become_known_just_after(settings: Settings) -> None:
    raw = applications(
        [
            ("A", "2026-01-01 10:00", 1000.0),
            ("A", "2026-02-01 10:00", 3000.0),
            ("A", "2026-05-15 10:00", 5000.0),  # more than 90 days after the first two
            ("B", "2026-02-01 11:00", 700.0),
        ]
    )
    table = entity_history(raw, settings.schema_, settings.features)

    def at(who: str, when: str) -> dict[str, float]:
        known = pd.Timestamp(when, tz="UTC") + AVAILABILITY_LAG
        (row,) = table[(table["customer_id"] == who) & (table["event_timestamp"] == known)].to_dict("records")
        return {str(k): v for k, v in row.items() if isinstance(v, int | float)}

    assert at("A", "2026-02-01 10:00")["events_90d"] == 2
    assert at("A", "2026-02-01 10:00")["loan_amount_sum_90d"] == 4000.0
    assert at("A", "2026-05-15 10:00")["events_90d"] == 1  # the window forgot January and February
    assert at("B", "2026-02-01 11:00")["loan_amount_mean_90d"] == 700.0
    assert len(table) == len(raw)


def test_every_configured_aggregate_is_produced(settings: Settings) -> None:
    raw = applications([("A", "2026-01-01", 1.0)])
    table = entity_history(raw, settings.schema_, settings.features)
    assert set(history_feature_names(settings.features)) <= set(table.columns)


def test_request_features_and_missing_history(settings: Settings) -> None:
    names = history_feature_names(settings.features)
    frame = pd.DataFrame(
        {
            "loan_amount": [12000.0, 5000.0],
            "annual_income": [60000.0, 0.0],
            "monthly_debt": [500.0, 100.0],
            "loan_term_months": [24.0, 12.0],
            **{name: [np.nan, 3.0] for name in names},
        }
    )
    done = complete_features(frame, settings.features)
    assert done.loc[0, "loan_to_income"] == pytest.approx(0.2)
    assert done.loc[0, "debt_to_income"] == pytest.approx(0.1)
    assert done.loc[0, "monthly_payment"] == pytest.approx(500.0)
    assert done["loan_to_income"].isna().tolist() == [False, True]  # no income: unknown, not infinite
    assert done.loc[0, "events_90d"] == 0.0  # no history: zero applications...
    assert done["credit_utilization_mean_90d"].isna().tolist() == [True, False]  # ...and an unknown mean


def test_history_over_a_column_the_data_lacks_is_refused(settings: Settings) -> None:
    with pytest.raises(KeyError, match="lacks"):
        entity_history(
            applications([("A", "2026-01-01", 1.0)]).drop(columns=["credit_utilization"]),
            settings.schema_,
            settings.features,
        )


def test_the_serving_path_row_is_the_history_tables_row_for_every_event(settings: Settings) -> None:
    """``latest_history_values`` (one entity, on the request path) gives ``entity_history``'s rows:
    every event's, with events leaving the window and missing values skipped alike."""
    rng = np.random.default_rng(3)
    days = np.sort(rng.choice(400, size=40, replace=False))
    raw = pd.DataFrame(
        {
            "customer_id": "A",
            "event_timestamp": pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(days, unit="D"),
            "loan_amount": rng.uniform(500, 50000, 40),
            "credit_utilization": np.where(rng.random(40) < 0.3, np.nan, rng.random(40)),  # gaps, a whole window too
            "num_late_payments_12m": rng.integers(0, 5, 40).astype(float),
            "num_credit_inquiries_6m": rng.integers(0, 4, 40).astype(float),
        }
    )
    raw.loc[5:12, "credit_utilization"] = np.nan
    table = entity_history(raw, settings.schema_, settings.features)
    fields = list(settings.features.history)
    for n in range(1, len(raw) + 1):
        seen = raw.head(n)
        row = latest_history_values(
            "A", list(seen["event_timestamp"]), seen[fields].to_numpy(), settings.schema_, settings.features
        )
        pd.testing.assert_frame_equal(
            pd.DataFrame([row]), table.iloc[[n - 1]].reset_index(drop=True), check_dtype=False, rtol=1e-9
        )
