"""``make contract DATA=path/to/file.csv``: a first data contract, drafted from a user's file, to edit.

The file is profiled with pandera's schema inference (``pandera.infer_schema``: each
column's type, whether it has nulls, its observed range, and the values of a
categorical column), and a few facts pandera does not infer are read off the data
(null shares, weekly sizes, the label rate per week, which columns look like keys).
From them a complete params file is written: the platform's defaults (``params.yaml``
of the project) with every data-shaped section replaced:

* ``data``: the file, and a row id or arrival times when it has no entity or no time column;
* ``schema``: entity, timestamp, label (and the value meaning 1 when it is not 0/1), the
  record id, numeric ranges with headroom (a tenth of the observed range each side),
  allowed null shares (observed, plus half again), categories, candidate sensitive
  attributes (by name, ``SENSITIVE_NAMES``), kept out of the features;
* ``validation``: rows per weekly batch and label-rate bounds from the observed weeks;
* ``features``: history aggregates (the mean of a few numeric columns per entity);
* ``gate``: slices over the first categorical columns; no behaviour rules (only you know
  which way a column should push the score); the entity and sensitive columns invariant;
  a latency budget with room for a busy laptop;
* ``monitoring``: window sizes that fit the weekly size;
* ``model_card``: TODO texts, which the governance policy refuses until written.

Why pandera: it infers exactly the contract's shape (types, nullability, ranges,
categories) in well under a second and installs light (pandas, pydantic, typeguard).
Great Expectations 1.x no longer ships profilers, and ydata-profiling computes a full
report (correlations, plots) for a page a person reads, at many times the cost and
dependencies, none of which a contract needs.

Nothing here is final: the header of the draft lists what to check.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from core.settings import DEFAULT_PARAMS, PROJECT_ROOT

MAX_CATEGORIES = 50  # more distinct texts than this: an identifier or free text, left out
# Column names that usually hold a protected characteristic: a generic vocabulary (some words
# are also columns of the demo lender; tests/core/test_no_demo_columns.py allows them here).
SENSITIVE_NAMES = ("age", "gender", "sex", "race", r"ethnic\w*", "religion", r"marital\w*", "nationality", r"disab\w*")
SENSITIVE = re.compile(r"(^|_)(" + "|".join(SENSITIVE_NAMES) + r")(_|$)", re.I)
LABEL_NAMES = re.compile(r"churn|default|label|target|fraud|outcome|convert|cancel|fail|claim|^y$", re.I)
POSITIVE_WORDS = ("yes", "true", "y", "1", "positive", "t")
ROW_ID, ARRIVED_AT = "row_id", "arrived_at"
TARGET_WEEKS = 16  # a file without a time column is spread over about this many weeks


def _profile(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """pandera's inferred schema, per column: dtype, nullable, min, max, allowed values."""
    from pandera.schema_inference.pandas import infer_schema

    typed = frame.copy()
    for column in typed.columns:
        values = typed[column]
        if (values.dtype == object or pd.api.types.is_bool_dtype(values)) and values.nunique() <= MAX_CATEGORIES:
            typed[column] = values.astype(str).where(values.notna(), None).astype("category")
    profile: dict[str, dict[str, Any]] = {}
    for name, column in infer_schema(typed).columns.items():
        facts: dict[str, Any] = {"dtype": str(column.dtype), "nullable": bool(column.nullable)}
        for check in column.checks:
            facts.update(check.statistics)
        profile[str(name)] = facts
    return profile


def _as_times(values: pd.Series) -> pd.Series | None:
    if pd.api.types.is_datetime64_any_dtype(values):
        return pd.to_datetime(values, utc=True)
    if values.dtype != object:
        return None
    parsed = pd.to_datetime(values, utc=True, errors="coerce", format="mixed")
    return parsed if parsed.notna().mean() > 0.95 else None


def _label(frame: pd.DataFrame) -> tuple[str, Any]:
    binary = [c for c in frame.columns if frame[c].dropna().nunique() == 2]
    if not binary:
        raise ValueError("no column holds exactly two values: a binary label is needed (schema.label)")
    named = [c for c in binary if LABEL_NAMES.search(str(c))]
    label = (named or binary)[-1]
    values = sorted(frame[label].dropna().unique().tolist(), key=str)
    if {str(v) for v in values} <= {"0", "1"} or {str(v) for v in values} == {"False", "True"}:
        return label, (True if frame[label].dtype == bool else None)
    worded = [v for v in values if str(v).strip().lower() in POSITIVE_WORDS]
    minority = frame[label].value_counts().idxmin()
    return label, (worded[0] if worded else minority)


def _keys(frame: pd.DataFrame, skip: set[str]) -> tuple[str | None, str | None]:
    """(entity, record id): a repeating identifier-like column, and a unique one."""
    idlike = [
        c
        for c in frame.columns
        if c not in skip and re.search(r"(^|_)(id|key|code|number)$", str(c), re.I) and frame[c].notna().all()
    ]
    unique = [c for c in idlike if frame[c].is_unique]
    repeating = [c for c in idlike if not frame[c].is_unique]
    return (repeating[0] if repeating else None), (unique[0] if unique else None)


def _numeric(values: pd.Series, facts: dict[str, Any]) -> dict[str, float]:
    low, high = float(facts.get("min_value", values.min())), float(facts.get("max_value", values.max()))
    room = (high - low) * 0.1 or abs(high) * 0.1 or 1.0
    spec = {"min": _nice(max(low - room, 0.0) if low >= 0 else low - room), "max": _nice(high + room)}
    share = float(values.isna().mean())
    if share > 0:
        spec["max_null_share"] = round(min(1.0, share * 1.5 + 0.01), 3)
    return spec


def _nice(value: float) -> float:
    if value == 0 or not math.isfinite(value):
        return 0.0
    digits = 3 - math.floor(math.log10(abs(value)))
    return float(round(value, max(digits, 0)))


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_")
    return slug if slug and slug[0].isalpha() else f"data_{slug}"


def draft(data: Path, out: Path) -> dict[str, Any]:
    """The draft params tree for ``data``, with its data paths relative to ``out``'s folder."""
    from features.ingest import read_table

    frame = read_table(data)
    if len(frame) < 100:
        raise ValueError(f"{data} has {len(frame)} rows; a contract needs at least a few hundred to go by")
    profile = _profile(frame)
    times = {c: t for c in frame.columns if (t := _as_times(frame[c])) is not None}
    label, positive = _label(frame)
    timestamp = next(iter(times), None)
    entity, record_id = _keys(frame, {label, *times})
    sensitive = [c for c in frame.columns if SENSITIVE.search(str(c)) and c not in {label, entity, record_id}]

    numeric, categorical, left_out = {}, {}, []
    for column in frame.columns:
        if column in {label, entity, record_id, *times}:
            continue
        facts = profile.get(str(column), {})
        if "allowed_values" in facts:
            categorical[str(column)] = sorted(str(v) for v in facts["allowed_values"])
        elif pd.api.types.is_numeric_dtype(frame[column]) and not pd.api.types.is_bool_dtype(frame[column]):
            numeric[str(column)] = _numeric(frame[column], facts)
        else:
            left_out.append(str(column))

    if timestamp is not None:
        stamps = times[timestamp]
        monday = (stamps.dt.normalize() - pd.to_timedelta(stamps.dt.weekday, unit="D")).dt.date
        per_week = monday.value_counts()
        weekly_rates = (
            frame[label]
            .groupby(monday)
            .apply(
                lambda s: (s.astype(str) == str(positive)).mean() if positive is not None else s.astype(float).mean()
            )
        )
    else:
        rows_per_week = max(50, math.ceil(len(frame) / TARGET_WEEKS))
        blocks = np.arange(len(frame)) // rows_per_week
        per_week = pd.Series(blocks).value_counts()
        as_one = frame[label].astype(str) == str(positive) if positive is not None else frame[label].astype(float)
        weekly_rates = pd.Series(np.asarray(as_one, dtype=float)).groupby(blocks).mean()
    typical, smallest = float(per_week.median()), int(per_week.min())

    tree: dict[str, Any] = yaml.safe_load(DEFAULT_PARAMS.read_text())
    name = _slug(data.stem)
    relative = Path(_relative(data.resolve(), out.resolve().parent))
    tree["data"] = {
        "source": "file",
        "dir": "data",
        "file": str(relative),
        "seed": 42,
        "replay_weeks": None,
        "row_id": entity is None,
        "arrival": None if timestamp else {"start": "2026-01-05", "rows_per_week": int(per_week.median())},
    }
    feature_numeric = [c for c in numeric if c not in sensitive]
    feature_categorical = [c for c in categorical if c not in sensitive]
    tree["schema"] = {
        "entity": entity or ROW_ID,
        "timestamp": timestamp or ARRIVED_AT,
        "label": label,
        **({"record_id": record_id} if record_id else {}),
        **({"positive_label": positive} if positive is not None else {}),
        "decisions": {"positive": "positive", "negative": "negative"},
        "sensitive": sensitive,
        "min_group_rows": 30,
        "numeric": numeric,
        "categorical": categorical,
    }
    low, high = float(weekly_rates.min()), float(weekly_rates.max())
    tree["validation"] = {
        "min_rows": max(1, smallest // 2),
        "max_rows": int(per_week.max() * 10),
        "label_rate": {"min": round(max(0.0, low * 0.5), 3), "max": round(min(1.0, high * 1.5 + 0.02), 3)},
    }
    tree["project"] = name
    tree["features"].update(
        service=name,
        history={c: ["mean"] for c in feature_numeric[:3]} if entity else {},
        ratios={},
    )
    tree["gate"]["slices"] = {c: {"column": c} for c in feature_categorical[:2]}
    tree["gate"]["latency_budget_ms"] = 250.0  # a first run on a busy laptop; your serving target belongs here
    tree["gate"]["behaviour"] = {"increasing": {}, "invariant": [entity or ROW_ID, *sensitive]}
    tree["mlflow"].update(experiment=name.replace("_", "-"), registered_model=name.replace("_", "-"))
    tree["mlflow"]["description"] = f"Probability that {label} is 1, from {data.name}."
    window = max(10, int(typical * 1.3))
    tree["monitoring"].update(window_rows=window, min_rows=max(10, min(300, int(typical * 0.25))))
    tree["monitoring"]["quality"]["min_labelled_rows"] = max(20, min(200, int(typical * 0.3)))
    tree["monitoring"]["simulation"]["columns"] = []
    tree["model_card"] = {
        "intended_use": "TODO: what the score is for, for whom, and who decides with it.",
        "out_of_scope": "TODO: uses this model must not be put to.",
        "limitations": "TODO: what the data does not cover; how the metrics were measured.",
    }
    tree["_left_out"] = left_out
    tree["_candidates"] = {"timestamps": list(times), "typical_week": typical}
    return tree


def _relative(target: Path, base: Path) -> str:
    import os

    return os.path.relpath(target, base)


HEADER = """\
# A DRAFT data contract and settings for {data}, written by `make contract`.
# Check before you run it (`make pipeline PARAMS={out}`):
#   project: the project's name (the file's), its namespace on a shared team stack; unique per team
#   schema.entity, schema.timestamp, schema.label{positive}: the keys it guessed{keys}
#   schema.sensitive: attributes kept out of the model and judged for fairness (guessed by name)
#   schema.numeric / schema.categorical: ranges (observed, plus a tenth each side) and categories
#   validation: rows per weekly batch and the label rate's bounds, from the observed weeks
#   features.history, gate.slices: a first choice; gate.behaviour.increasing: yours to add
#   gate.latency_budget_ms: 250 ms leaves room on a busy laptop; set your serving target
#   model_card: the TODO texts; the governance policy refuses a model card until they are written
# Not described (left out of the model): {left_out}
"""


def write_draft(data: Path, out: Path) -> Path:
    tree = draft(data, out)
    left_out, candidates = tree.pop("_left_out"), tree.pop("_candidates")
    keys = ""
    if tree["data"]["row_id"]:
        keys += "\n#   (no repeating id column: data.row_id numbers the rows; history features need a real entity)"
    if tree["data"]["arrival"]:
        keys += "\n#   (no time column: data.arrival spreads the rows over weeks in file order)"
    if len(candidates["timestamps"]) > 1:
        keys += f"\n#   other time columns: {', '.join(candidates['timestamps'][1:])}"
    positive = tree["schema"].get("positive_label")
    header = HEADER.format(
        data=data,
        out=_shown(out),
        positive=f" (its value {positive!r} means 1)" if positive is not None else "",
        keys=keys,
        left_out=", ".join(left_out) or "none",
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(header + yaml.safe_dump(tree, sort_keys=False, allow_unicode=True, width=110))
    ignore = out.parent / ".gitignore"
    if not ignore.exists():
        ignore.write_text(".state/\n.dvc/\ndata/\n")
    return out


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make contract", description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="a .csv or .parquet file, one row per event")
    parser.add_argument(
        "--out", type=Path, default=None, help="the draft to write (default projects/<name>/params.yaml)"
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing draft")
    args = parser.parse_args(argv)
    out = args.out or PROJECT_ROOT / "projects" / _slug(args.data.stem) / "params.yaml"
    if out.exists() and not args.force:
        print(f"error: {_shown(out)} exists; pass OUT= for another file or FORCE=1 to overwrite it", file=sys.stderr)
        return 2
    try:
        written = write_draft(args.data, out)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    from core.settings import SettingsError, load_settings

    try:
        settings = load_settings(written, environ={})
    except SettingsError as error:
        print(f"wrote {_shown(written)}, but it does not load yet:\n{error}", file=sys.stderr)
        return 1
    schema = settings.schema_
    print(
        f"wrote {_shown(written)}: {len(schema.numeric)} numeric and {len(schema.categorical)} categorical columns, "
        f"entity {schema.entity}, time {schema.timestamp}, label {schema.label}.\n"
        f"Edit it (its header says what to check), then: make pipeline PARAMS={_shown(written)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
