"""Module 2, exercise 3: load a logged model back from MLflow and see its signature guard the input.

    .venv/bin/python -m docs.workshop.exercises.load_model [RUN_ID]

Without a run id it takes the newest run of the experiment. Expected: the model loads
with its signature, scores a few rows, and refuses a frame missing a column, naming it.
"""

from __future__ import annotations

import sys

import mlflow

from core.environment import apply_tool_environment
from core.settings import load_settings


def main(argv: list[str]) -> int:
    settings = load_settings()
    apply_tool_environment(settings)
    mlflow.set_tracking_uri(settings.tracking_uri)
    if argv:
        run_id = argv[0]
    else:
        runs = mlflow.search_runs(  # the newest training run (its candidates are nested runs without a model)
            experiment_names=[settings.mlflow.experiment],
            filter_string="tags.mlflow.parentRunId IS NULL",
            max_results=1,
        )
        run_id = str(runs["run_id"].iloc[0])
    model = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
    example = model.input_example
    print(f"run {run_id}: model inputs {model.metadata.get_input_schema().input_names()}")
    print("scores for the logged input example:", model.predict(example).round(4).tolist())
    missing = example.columns[0]
    try:
        model.predict(example.drop(columns=[missing]))
    except Exception as refused:  # MLflow raises its own schema error
        reason = str(refused).rsplit("Error:", 1)[-1].strip().splitlines()[0]
        print(f"without {missing!r}: refused: {reason}")
        return 0
    print(f"without {missing!r}: accepted (the signature did not guard the input)")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
