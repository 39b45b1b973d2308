"""The validation suite follows each shipped data set's contract, and a failure names the key that set its bar."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from core import scenarios
from core.settings import PROJECT_ROOT, Settings, load_settings
from core.synthetic import LenderConfig, generate_week
from features import ingest
from features.validation import validate_batch

pytestmark = pytest.mark.data


def _lender(folder: Path) -> tuple[Settings, pd.DataFrame]:
    settings = load_settings(environ={})
    return settings, generate_week(LenderConfig(applications_per_week=600, customers=1000), 3)


def _churn(folder: Path) -> tuple[Settings, pd.DataFrame]:
    example = PROJECT_ROOT / "examples" / "churn"
    tree = yaml.safe_load((example / "params.yaml").read_text())
    tree["data"]["file"] = str(example / "renewals.parquet")
    (folder / "params.yaml").write_text(yaml.safe_dump(tree))
    settings = load_settings(folder / "params.yaml", environ={})
    return settings, next(iter(ingest.source_weeks(settings).values()))


@pytest.mark.parametrize("dataset", [_lender, _churn], ids=["lender", "churn"])
def test_a_real_batch_passes_and_a_corrupt_one_fails_naming_its_keys(tmp_path: Path, dataset: object) -> None:
    settings, batch = dataset(tmp_path)  # type: ignore[operator]
    settings = settings.overridden({"state_dir": str(tmp_path / "state")})
    assert validate_batch(batch, settings, "clean").success
    broken = scenarios.transform(batch, settings.schema_, "quality_incident", seed=1)
    outcome = validate_batch(broken, settings, "broken")
    failed = {f.check: f.source for f in outcome.failures}
    schema = settings.schema_
    first, second = schema.numeric_features[:2]
    categorical = schema.categorical_features[0]
    params = settings.source("").strip()
    assert failed[f"{first}.not_null"] == f"{params} schema.numeric.{first}.max_null_share"
    assert failed[f"{second}.range"] == f"{params} schema.numeric.{second}.min/max"
    assert failed[f"{categorical}.categories"] == f"{params} schema.categorical.{categorical}"
    assert all(f"[set by {params} schema." in str(f) for f in outcome.failures)
