"""The data contract: clean batches pass; each kind of breakage is named; nothing is lost."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.settings import Settings
from core.synthetic import LenderConfig, generate_week
from features import ingest
from features.validation import validate_batch

pytestmark = pytest.mark.data


@pytest.fixture
def batch() -> pd.DataFrame:
    return generate_week(LenderConfig(applications_per_week=600, customers=1000), 3)


def failed_checks(frame: pd.DataFrame, settings: Settings) -> set[str]:
    outcome = validate_batch(frame, settings, "batch")
    return {f.check for f in outcome.failures}


def test_a_clean_batch_passes_and_publishes_data_docs(batch: pd.DataFrame, settings: Settings) -> None:
    outcome = validate_batch(batch, settings, "week_clean")
    assert outcome.success, [str(f) for f in outcome.failures]
    assert outcome.evaluated > 50
    assert outcome.docs_page is not None and outcome.docs_page.exists()
    assert (settings.reports_dir / "data_docs" / "index.html").exists()


@pytest.mark.parametrize(
    ("break_it", "expected"),
    [
        (lambda f: f.drop(columns=["loan_amount"]), {"loan_amount.exists"}),
        (
            lambda f: f.assign(annual_income=np.where(np.arange(len(f)) % 3 == 0, np.nan, f.annual_income)),
            {"annual_income.not_null"},
        ),
        (lambda f: f.assign(credit_utilization=f.credit_utilization * 100), {"credit_utilization.range"}),
        (lambda f: f.assign(region="atlantis"), {"region.categories"}),
        (lambda f: f.assign(is_default=1), {"is_default.rate"}),
        (lambda f: f.head(50), {"rows.count"}),
        (lambda f: f.assign(age=f.age.astype(str)), {"age.type"}),
        (lambda f: pd.concat([f, f.head(5)]), {"application_id.unique"}),
    ],
    ids=["missing-column", "nulls", "out-of-range", "new-category", "label-rate", "row-count", "type", "duplicates"],
)
def test_each_breakage_is_named(batch: pd.DataFrame, settings: Settings, break_it, expected: set[str]) -> None:
    failed = failed_checks(break_it(batch.copy()), settings)
    assert expected <= failed


def test_a_failed_batch_is_quarantined_whole_with_its_report(settings: Settings) -> None:
    broken = generate_week(LenderConfig(applications_per_week=600, customers=1000), 3, "quality_incident")
    settings.landing_dir.mkdir(parents=True)
    landed = settings.landing_dir / "week_2026-01-19.parquet"
    broken.to_parquet(landed, index=False)

    outcome = validate_batch(ingest.read_table(landed), settings, landed.stem)
    assert not outcome.success
    assert {"annual_income.not_null", "credit_utilization.range", "region.categories"} <= {
        f.check for f in outcome.failures
    }
    folder = ingest.quarantine(landed, settings, outcome.result, outcome.docs_page)

    assert not landed.exists()
    kept = pd.read_parquet(folder / landed.name)
    pd.testing.assert_frame_equal(kept, broken)  # nothing lost, nothing edited
    report = json.loads((folder / "validation_result.json").read_text())
    assert report["success"] is False
    assert "<html" in (folder / "validation_result.html").read_text().lower()


def test_validation_is_repeatable_in_one_process(batch: pd.DataFrame, settings: Settings, tmp_path: Path) -> None:
    # GX refuses to add names twice to one context; each validation builds its own.
    assert validate_batch(batch, settings, "same_name").success
    assert validate_batch(batch, settings, "same_name").success


def test_served_windows_meet_the_training_contract_or_raise_an_alert(batch: pd.DataFrame, settings: Settings) -> None:
    from features.validation import validate_served_window

    served = batch[[*settings.schema_.numeric, *settings.schema_.categorical]]  # what requests carry
    clean = validate_served_window(served, settings, "served_clean")
    assert clean.success and clean.evaluated > 30  # types, null shares, ranges, categories; no label checks
    broken = served.copy()
    broken.loc[broken.sample(frac=0.3, random_state=1).index, "years_employed"] = np.nan
    outcome = validate_served_window(broken, settings, "served_broken")
    assert not outcome.success and {f.check for f in outcome.failures} == {"years_employed.not_null"}


def tied(batch: pd.DataFrame) -> pd.DataFrame:
    """Row 5 becomes a second application of row 3's customer in the same instant."""
    frame = batch.copy()
    frame.loc[5, ["customer_id", "event_timestamp"]] = frame.loc[3, ["customer_id", "event_timestamp"]].to_numpy()
    return frame


def test_two_events_of_one_entity_at_one_instant_are_refused_naming_the_rows(
    batch: pd.DataFrame, settings: Settings
) -> None:
    outcome = validate_batch(tied(batch), settings, "week_tied")
    (failure,) = [f for f in outcome.failures if f.check == "event.unique"]
    ids = batch["application_id"]
    assert ids[3] in failure.observed and ids[5] in failure.observed, failure.observed
    assert batch["customer_id"][3] in failure.observed


def test_kept_events_are_ordered_by_the_tie_breaker_and_become_distinct(batch: pd.DataFrame, workspace: Path) -> None:
    from core.settings import load_settings
    from features.engineering import entity_history
    from features.validation import validate_feature_table
    from tests.conftest import write_params

    settings = load_settings(write_params(workspace, schema={"duplicate_events": {"action": "keep"}}))
    frame = tied(batch)
    frame.loc[6, ["customer_id", "event_timestamp"]] = frame.loc[3, ["customer_id", "event_timestamp"]].to_numpy()
    assert validate_batch(frame, settings, "week_tied").success  # kept: not a failure
    settings.raw_dir.mkdir(parents=True)
    frame.to_parquet(settings.raw_dir / "week_2026-01-19.parquet", index=False)

    raw = ingest.load_raw(settings)
    assert len(raw) == len(frame) and not raw.duplicated(["customer_id", "event_timestamp"]).any()
    ties = raw.set_index("application_id").loc[batch["application_id"][[3, 5, 6]], "event_timestamp"]
    assert list(ties.diff().dropna()) == [pd.Timedelta(microseconds=1)] * 2  # in record-id order, 1 µs apart
    assert ties.iloc[0] == pd.Timestamp(batch["event_timestamp"][3])  # the first keeps its time
    table = entity_history(raw, settings.schema_, settings.features)
    assert validate_feature_table(table, settings, "history", expected_rows=len(raw)).success


def test_landed_batches_are_validated_in_one_pass_each_judged_on_its_own(settings: Settings, tmp_path: Path) -> None:
    from features.validation import validate_batches

    config = LenderConfig(applications_per_week=600, customers=1000)
    paths = []
    for week, scenario in ((3, "none"), (4, "quality_incident"), (5, "none")):
        paths.append(tmp_path / f"week_{week}.parquet")
        generate_week(config, week, scenario).to_parquet(paths[-1], index=False)
    tiny = tmp_path / "week_6.parquet"
    generate_week(config, 6).head(50).to_parquet(tiny, index=False)  # a row count the batch alone breaks

    outcomes = validate_batches([*paths, tiny], settings)
    assert [o.success for o in outcomes] == [True, False, True, False]
    assert {"region.categories", "credit_utilization.range"} <= {f.check for f in outcomes[1].failures}
    assert {f.check for f in outcomes[3].failures} == {"rows.count"}
    assert all(o.docs_page is not None and o.docs_page.exists() for o in outcomes)
    assert len({o.docs_page for o in outcomes}) == 4


def test_a_later_run_validates_against_the_suite_it_left_on_disk(settings: Settings, tmp_path: Path) -> None:
    """The raw-batch suite persists (Data Docs keep its page); the next run's one pass must update it, not fail."""
    from features.validation import validate_batches

    config = LenderConfig(applications_per_week=600, customers=1000)
    first, second = tmp_path / "week_3.parquet", tmp_path / "week_4.parquet"
    generate_week(config, 3).to_parquet(first, index=False)
    generate_week(config, 4).to_parquet(second, index=False)
    assert [o.success for o in validate_batches([first], settings)] == [True]
    assert [o.success for o in validate_batches([second], settings)] == [True]
