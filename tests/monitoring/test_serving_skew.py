"""Serving skew as a data-quality signal: served history features recomputed from the landed data."""

from __future__ import annotations

import pandas as pd
import pytest

from core.settings import Settings
from core.synthetic import LenderConfig, generate_week
from features import engineering, ingest
from monitoring import skew

pytestmark = pytest.mark.data


def served_rows(settings: Settings, events: pd.DataFrame) -> pd.DataFrame:
    """What the prediction log holds for ``events`` when the online store is current."""
    schema = settings.schema_
    table = engineering.entity_history(events, schema, settings.features)
    joined = engineering.join_history(events, table, schema, settings.features)
    names = engineering.history_feature_names(settings.features)
    stamps = pd.to_datetime(events[schema.timestamp], utc=True)
    return pd.DataFrame(
        {
            skew.ENTITY: events[schema.entity].to_numpy(),
            skew.EVENT_TIME: [s.isoformat() for s in stamps],
            **{n: joined[n].to_numpy() for n in names},
        }
    )


@pytest.fixture
def landed(settings: Settings) -> pd.DataFrame:
    config = LenderConfig(applications_per_week=200, customers=80)
    weeks = [generate_week(config, w) for w in (1, 2, 3)]
    settings.raw_dir.mkdir(parents=True, exist_ok=True)
    settings.landing_dir.mkdir(parents=True, exist_ok=True)
    for week, folder in zip(weeks, [settings.raw_dir, settings.raw_dir, settings.landing_dir], strict=True):
        start = pd.Timestamp(week["event_timestamp"].min()).date()  # the last week landed, not yet accepted
        week.to_parquet(folder / f"{ingest.batch_name(start)}.parquet", index=False)
    return pd.concat(weeks, ignore_index=True)


def test_rows_served_from_a_current_store_show_no_skew(settings: Settings, landed: pd.DataFrame) -> None:
    rows = served_rows(settings, landed).tail(300)
    check = skew.check_window(settings, "w1", rows)
    assert check.checked == settings.monitoring.skew.sample_rows and check.differing == 0
    assert check.share == 0.0 and not check.alert


def test_stale_history_is_counted_and_alerts_past_the_threshold(settings: Settings, landed: pd.DataFrame) -> None:
    rows = served_rows(settings, landed).tail(300).reset_index(drop=True)
    count = engineering.history_feature_names(settings.features)[0]
    stale = rows.index[rows[count] > 1][:30]
    rows.loc[stale, count] -= 1  # the customer's last application missing: a store behind the data
    check = skew.check_window(settings.overridden({"monitoring.skew.sample_rows": 300}), "w2", rows)
    assert (check.checked, check.differing) == (300, 30)
    assert check.alert and "ALERT" in str(check) and len(check.examples) == 3
    skew.record(settings, check)
    (logged,) = skew.read_log(skew.skew_log(settings))
    assert logged["share"] == pytest.approx(0.1) and logged["alert"] is True


def test_events_that_have_not_landed_are_not_judged(settings: Settings, landed: pd.DataFrame) -> None:
    later = generate_week(LenderConfig(applications_per_week=200, customers=80), 4)
    rows = served_rows(settings, pd.concat([landed, later], ignore_index=True)).tail(len(later))
    check = skew.check_window(settings, "w3", rows)
    assert check.checked == 0 and check.share is None and not check.alert
    assert check.not_landed == settings.monitoring.skew.sample_rows


def test_an_event_served_again_is_judged_at_its_first_serving_only(settings: Settings, landed: pd.DataFrame) -> None:
    """A replay reads the store as it is now, not as of its event: not a skew of the first answer."""
    rows = served_rows(settings, landed).tail(100).reset_index(drop=True)
    count = engineering.history_feature_names(settings.features)[0]
    replay = rows.assign(**{count: rows[count] + 5})  # served later, with everything known since
    check = skew.check_window(settings, "w4", pd.concat([rows, replay], ignore_index=True))
    assert (check.checked, check.differing) == (100, 0)
    later = skew.check_window(settings, "w5", replay, before=rows)
    assert later.checked == 0


def test_make_skew_checks_every_served_event_in_the_log_and_fails_on_an_alert(
    settings: Settings, landed: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    from serving.prediction_log import PredictionLog, clean_features

    rows = served_rows(settings, landed).tail(300).reset_index(drop=True)
    count = engineering.history_feature_names(settings.features)[0]
    log = PredictionLog(settings.predictions_dir)
    for i, record in enumerate(rows.to_dict("records")):  # as the service logs them: features beside the answer
        served = {str(k): v for k, v in record.items()}
        if i < 12:
            served[count] -= 1
        entity, event_time = served.pop(skew.ENTITY), served.pop(skew.EVENT_TIME)
        log.append(
            {"request_id": str(i), skew.ENTITY: entity, skew.EVENT_TIME: event_time, "features": clean_features(served)}
        )
    log.close()

    assert skew.main(["--params", str(settings.params_file)]) == 1  # 12 of 300 is past the 1% bar
    printed = capsys.readouterr().out
    assert "12 of 300 rows differ" in printed and "ALERT" in printed  # all of them, not a sample of 200
