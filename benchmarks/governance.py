"""What governance costs: per registration, and per explained request, against same-run baselines.

``python -m benchmarks.governance`` (``make bench-governance``) works in a temporary folder:
it trains a logistic regression and a gradient-boosting model on synthetic data, then

* registers each with and without governance (fairness, importance + plot, card twice,
  policy evaluation with its report): the baseline is the bare registration;
* explains single rows (``LocalExplainer``) against scoring the same row: the baseline
  is ``predict_proba`` through the same pipeline.
"""

from __future__ import annotations

import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from rich.console import Console
from rich.table import Table

from core.settings import DEFAULT_PARAMS, Settings, load_settings
from core.synthetic import LenderConfig, generate_week
from core.timing import median_ms
from features.engineering import FeatureColumns, features_of
from governance import review
from governance.explain import LocalExplainer


def _workspace(folder: Path) -> Settings:
    tree = yaml.safe_load(DEFAULT_PARAMS.read_text())
    tree["state_dir"] = str(folder / "state")
    (folder / "params.yaml").write_text(yaml.safe_dump(tree))
    return load_settings(folder / "params.yaml", environ={})


def _score(model: Any, row: pd.DataFrame, columns: FeatureColumns) -> object:
    return model.predict_proba(features_of(row, columns))


def main() -> int:
    from core import registry
    from pipelines.steps import tracking
    from pipelines.steps.training import fit_and_score, time_split

    console = Console()
    table = Table(
        title="Governance costs (registration: one each; one row: median of 200; ratio to the same-run baseline)"
    )
    for column in ("what", "model", "baseline", "with governance", "ratio"):
        table.add_column(column, justify="left" if column in ("what", "model") else "right")
    with tempfile.TemporaryDirectory(prefix="bench-governance-") as folder:
        settings = _workspace(Path(folder))
        frame = pd.concat(
            [generate_week(LenderConfig(applications_per_week=1500, customers=6000), w) for w in range(1, 9)],
            ignore_index=True,
        )
        columns = FeatureColumns.from_schema(settings.schema_)
        split = time_split(frame, settings.schema_, settings.training.holdout_weeks)
        for family, params in (("logistic_regression", {"max_iter": 1000}), ("gradient_boosting", {"max_iter": 150})):
            trained = fit_and_score(split, settings.schema_, columns, family, params, settings.training)
            logged = tracking.log_training_run(settings, trained, data_version="bench", training_frame=frame)
            started = time.perf_counter()
            version = registry.register(settings, logged.model_uri, logged.run_id, {"purpose": "benchmark"}, None)
            bare = time.perf_counter() - started
            started = time.perf_counter()
            review.review_new_version(
                settings, version, "champion", trained.model, columns, split.holdout, actor="benchmark"
            )
            governed = time.perf_counter() - started
            table.add_row(
                "registration (s)", family, f"{bare:.2f}", f"{bare + governed:.2f}", f"{(bare + governed) / bare:.0f}x"
            )
            row, explainer = split.holdout.iloc[[0]], LocalExplainer(trained.model, columns)
            score = median_ms(partial(_score, trained.model, row, columns), 200)
            explain = median_ms(partial(explainer.explain, row), 200)
            table.add_row("one row (ms)", family, f"{score:.2f}", f"{explain:.2f}", f"{explain / score:.1f}x")
    console.print(table)
    console.print("baseline: bare registry version / predict_proba; with governance: review_new_version / explain")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
