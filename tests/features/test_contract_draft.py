"""``make contract``: a draft contract from a file that is not ours, which then loads, ingests and validates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from core.settings import PROJECT_ROOT, load_settings
from features import contract_draft, ingest
from features.validation import validate_batch

pytestmark = pytest.mark.data


def plain_csv(folder: Path, rows: int = 3200) -> Path:
    """A flat file as people have them: no id, no time column, a Yes/No label, its own column names."""
    rng = np.random.default_rng(0)
    temperature = rng.normal(70, 8, rows).round(1)
    vibration = rng.gamma(2.0, 1.5, rows).round(3)
    shift = rng.choice(["day", "night", "weekend"], rows)
    failed = rng.random(rows) < 1 / (1 + np.exp(-(-3 + 0.08 * (temperature - 70) + 0.5 * vibration)))
    frame = pd.DataFrame(
        {
            "Temperature": temperature,
            "vibration_mm_s": vibration,
            "operator_age": rng.integers(20, 65, rows),
            "Shift": shift,
            "notes": [f"free text {i}" for i in range(rows)],
            "Failed": np.where(failed, "Yes", "No"),
        }
    )
    frame.loc[rng.random(rows) < 0.03, "vibration_mm_s"] = np.nan
    path = folder / "machines.csv"
    frame.to_csv(path, index=False)
    return path


def test_a_flat_csv_gets_a_contract_that_loads_and_validates(tmp_path: Path) -> None:
    out = contract_draft.write_draft(plain_csv(tmp_path), tmp_path / "project" / "params.yaml")
    settings = load_settings(out, environ={})
    schema = settings.schema_
    assert (schema.entity, schema.timestamp, schema.label, schema.positive_label) == (
        "row_id",
        "arrived_at",
        "Failed",
        "Yes",
    )
    assert settings.data.row_id and settings.data.arrival is not None
    assert schema.sensitive == ("operator_age",)  # guessed by name, kept out of the features
    assert set(schema.numeric_features) == {"Temperature", "vibration_mm_s"}
    assert schema.numeric["vibration_mm_s"].max_null_share > 0.03  # observed nulls, with headroom
    assert schema.categorical["Shift"] == ("day", "night", "weekend")
    assert "notes" not in schema.described  # free text is left out, and said so
    assert "Not described (left out of the model): notes" in out.read_text()
    assert settings.model_card.intended_use.startswith("TODO")

    weeks = ingest.source_weeks(settings)
    assert len(weeks) >= 15 and all(len(w) == settings.data.arrival.rows_per_week for w in list(weeks.values())[:-1])
    first = next(iter(weeks.values()))
    assert first[schema.label].isin([0, 1]).all() and first[schema.entity].str.startswith("row-").all()
    outcome = validate_batch(first, settings, "week_1")
    assert outcome.success, [str(f) for f in outcome.failures]


def test_the_example_file_is_described_with_its_keys(tmp_path: Path) -> None:
    tree = contract_draft.draft(PROJECT_ROOT / "examples" / "churn" / "renewals.parquet", tmp_path / "p.yaml")
    schema = tree["schema"]
    assert (schema["entity"], schema["timestamp"], schema["label"], schema["record_id"]) == (
        "subscriber_id",
        "renewed_at",
        "churned",
        "renewal_id",
    )
    assert schema["sensitive"] == ["age_years"] and tree["features"]["history"]


def test_a_file_without_a_label_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "no_label.csv"
    pd.DataFrame({"x": np.arange(500.0), "y": np.arange(500.0) * 2}).to_csv(path, index=False)
    with pytest.raises(ValueError, match="binary label"):
        contract_draft.draft(path, tmp_path / "p.yaml")


def test_the_command_writes_next_to_nothing_it_would_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, out = plain_csv(tmp_path), tmp_path / "mine" / "params.yaml"
    assert contract_draft.main([str(data), "--out", str(out)]) == 0
    assert "make pipeline PARAMS=" in capsys.readouterr().out
    assert yaml.safe_load(out.read_text())["data"]["file"] == "../machines.csv"  # relative to the draft
    assert (out.parent / ".gitignore").read_text().startswith(".state/")
    assert contract_draft.main([str(data), "--out", str(out)]) == 2  # exists: not overwritten
    assert "exists" in capsys.readouterr().err
