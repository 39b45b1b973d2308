"""Data validation with Great Expectations 1.x, suites derived from the data contract.

The raw-batch suite is built from ``schema`` and ``validation`` in params.yaml: the
same description of the data that training reads its features from, so the contract
cannot drift away from the code. Every expectation carries a ``check`` name in its
meta (``<column>.not_null``, ``rows.count``...), which is how failures are named, and
the params key that set its bar (``schema.numeric.<column>``...), which is what a
failure says to change.

Results and suites go to on-disk stores and a Data Docs site under the state folder:
Data Docs keeps a page only while its source is in a store, so every suite
(``raw_batch``, ``feature_table``, ``served_window``) stays on disk and keeps its page.
The rest of the context is in memory and rebuilt per validation, which keeps runs
idempotent (GX's ``add`` refuses names that already exist in a file context; suites
are written with ``add_or_update``). After each validation the pages it touched are
pointed at the local copy of their assets (``features/data_docs.py``), so they work offline.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from core.settings import Settings
from features import data_docs

if TYPE_CHECKING:
    from great_expectations.data_context import AbstractDataContext
    from great_expectations.expectations import Expectation

DOCS_SITE = "local_site"
NUMERIC_TYPES = ["int8", "int16", "int32", "int64", "Int64", "float32", "float64", "Float64"]
TEXT_TYPES = ["object", "str", "string", "category"]


@dataclass(frozen=True)
class FailedExpectation:
    check: str
    expectation: str
    observed: str
    source: str = ""  # "<params file> <key>": where the bar it missed is set

    def __str__(self) -> str:
        where = f" [set by {self.source}]" if self.source else ""
        return f"{self.check} ({self.expectation}): {self.observed}{where}"


@dataclass(frozen=True)
class ValidationOutcome:
    success: bool
    evaluated: int
    failures: list[FailedExpectation]
    result: dict[str, Any]
    docs_page: Path | None
    result_id: str = ""  # where the result sits in GX's validation results store: suite/run/time/batch

    def record(self, batch: Path, suite: str) -> dict[str, Any]:
        """What validated ``batch``, to keep beside it: GX's ids for the result and its fingerprint of the data,
        the outcome, and the md5 of the file itself (the hash DVC gives it), so the evidence names the exact bytes."""
        meta = self.result.get("meta") or {}
        return {
            "batch": batch.name,
            "md5": hashlib.md5(batch.read_bytes(), usedforsecurity=False).hexdigest(),
            "suite": suite,
            "result_id": self.result_id,
            "validated_at": meta.get("validation_time"),
            "gx_data_fingerprint": (meta.get("batch_markers") or {}).get("pandas_data_fingerprint"),
            "success": self.success,
            "evaluated": self.evaluated,
            "failures": [str(f) for f in self.failures],
        }


def _context(settings: Settings) -> AbstractDataContext:
    import great_expectations as gx
    from great_expectations.data_context.types.base import DataContextConfig, ProgressBarsConfig

    # GX turns every Python warning into a log record on import; give them back.
    logging.captureWarnings(False)
    logging.getLogger("great_expectations").setLevel(logging.WARNING)

    def on_disk(folder: Path) -> dict[str, str]:
        return {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(folder)}

    in_memory = {"class_name": "InMemoryStoreBackend"}
    config = DataContextConfig(
        stores={
            # On disk: the site's index drops a suite's page once its suite is not in this store.
            "expectations_store": {
                "class_name": "ExpectationsStore",
                "store_backend": on_disk(settings.state / "gx" / "expectations"),
            },
            "checkpoint_store": {"class_name": "CheckpointStore", "store_backend": in_memory},
            "validation_definition_store": {"class_name": "ValidationDefinitionStore", "store_backend": in_memory},
            # On disk: Data Docs drops pages whose results are not in this store.
            "validation_results_store": {
                "class_name": "ValidationResultsStore",
                "store_backend": on_disk(settings.state / "gx" / "validations"),
            },
        },
        expectations_store_name="expectations_store",
        validation_results_store_name="validation_results_store",
        checkpoint_store_name="checkpoint_store",
        data_docs_sites={
            DOCS_SITE: {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": on_disk(data_docs.site_dir(settings)),
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        },
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        analytics_enabled=False,
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def raw_batch_expectations(settings: Settings) -> list[Expectation]:
    """Schema, types, nulls, ranges, categories, label rate and row count, from params.yaml."""
    import great_expectations.expectations as gxe

    schema, rules = settings.schema_, settings.validation
    expectations: list[Expectation] = []

    def add(check: str, expectation: Expectation, key: str) -> None:
        expectation.meta = {"check": check, "source": settings.source(key)}
        expectations.append(expectation)

    for column in schema.required_columns:
        add(f"{column}.exists", gxe.ExpectColumnToExist(column=column), "schema")
    keys = {"entity": schema.entity, "timestamp": schema.timestamp, "label": schema.label}
    keys |= {"record_id": schema.record_id} if schema.record_id else {}
    for key, column in keys.items():
        add(f"{column}.not_null", gxe.ExpectColumnValuesToNotBeNull(column=column), f"schema.{key}")
    if schema.record_id:
        add(f"{schema.record_id}.unique", gxe.ExpectColumnValuesToBeUnique(column=schema.record_id), "schema.record_id")
    if schema.duplicate_events.action == "refuse":
        event = [schema.entity, schema.timestamp]
        add("event.unique", gxe.ExpectCompoundColumnsToBeUnique(column_list=event), "schema.duplicate_events")
    for column, spec in schema.numeric.items():
        key = f"schema.numeric.{column}"
        add(f"{column}.type", gxe.ExpectColumnValuesToBeInTypeList(column=column, type_list=NUMERIC_TYPES), key)
        add(
            f"{column}.not_null",
            gxe.ExpectColumnValuesToNotBeNull(column=column, mostly=round(1.0 - spec.max_null_share, 6)),
            f"{key}.max_null_share",
        )
        between = gxe.ExpectColumnValuesToBeBetween(column=column, min_value=spec.min, max_value=spec.max)
        add(f"{column}.range", between, f"{key}.min/max")
    for column, allowed in schema.categorical.items():
        key = f"schema.categorical.{column}"
        add(f"{column}.type", gxe.ExpectColumnValuesToBeInTypeList(column=column, type_list=TEXT_TYPES), key)
        add(f"{column}.not_null", gxe.ExpectColumnValuesToNotBeNull(column=column), key)
        add(f"{column}.categories", gxe.ExpectColumnValuesToBeInSet(column=column, value_set=list(allowed)), key)
    add(
        f"{schema.label}.binary",
        gxe.ExpectColumnValuesToBeInSet(column=schema.label, value_set=[0, 1]),
        "schema.positive_label",
    )
    add(
        f"{schema.label}.rate",
        gxe.ExpectColumnMeanToBeBetween(
            column=schema.label, min_value=rules.label_rate.min, max_value=rules.label_rate.max
        ),
        "validation.label_rate",
    )
    add(
        "rows.count",
        gxe.ExpectTableRowCountToBeBetween(min_value=rules.min_rows, max_value=rules.max_rows),
        "validation.min_rows/max_rows",
    )
    return expectations


RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 10}


def run_suite(
    frame: pd.DataFrame, settings: Settings, suite_name: str, expectations: list[Expectation], batch_name: str
) -> ValidationOutcome:
    """Validate ``frame`` against a suite of ``expectations``; record the result and publish Data Docs."""
    context = _context(settings)
    asset = context.data_sources.add_pandas(suite_name).add_dataframe_asset(batch_name)
    batch = asset.add_batch_definition_whole_dataframe("whole_batch").get_batch(batch_parameters={"dataframe": frame})
    ((result_id, result),) = _validate_and_publish(context, _suite(context, suite_name, expectations), [batch])
    return _outcome(context, settings, result_id, result, lambda: frame)


def validate_batches(paths: Sequence[Path], settings: Settings) -> list[ValidationOutcome]:
    """Validate arriving raw batch files in one pass: one context, one suite, Data Docs built once.

    Each file stays its own batch, judged whole by the contract (its own row count, label
    rate and null shares); Great Expectations reads one at a time from disk. Building the
    context and the Data Docs site once, rather than per batch, is most of the saving:
    both cost as much as validating a batch.
    """
    if not paths:
        return []
    context = _context(settings)
    source = context.data_sources.add_pandas("raw_batch")
    suite = _suite(context, "raw_batch", raw_batch_expectations(settings))
    batches = [
        source.add_parquet_asset(p.stem, path=p).add_batch_definition_whole_dataframe("whole").get_batch()
        for p in paths
    ]
    results = _validate_and_publish(context, suite, batches)
    return [
        _outcome(context, settings, result_id, result, partial(pd.read_parquet, path))
        for path, (result_id, result) in zip(paths, results, strict=True)
    ]


def _suite(context: AbstractDataContext, name: str, expectations: list[Expectation]) -> Any:
    """The suite, saved: it persists on disk (its Data Docs page), and a later run updates it."""
    import great_expectations as gx

    return context.suites.add_or_update(gx.ExpectationSuite(name=name, expectations=expectations))


def _validate_and_publish(context: AbstractDataContext, suite: Any, batches: Sequence[Any]) -> list[tuple[Any, Any]]:
    """Each batch validated against ``suite`` (GX's ``Batch.validate``), its result stored, Data Docs built once.

    What a Checkpoint run of one validation definition per batch does, without its
    bookkeeping: before each run it checks that every definition, suite and expectation
    is saved and unchanged in its store, field by field. That check took as long as the
    validation itself (12 batches of 74 expectations: 7.2 s through a Checkpoint, 4.0 s
    this way, measured here), and here the stores are built in this very call.
    """
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    run_id = RunIdentifier(run_time=dt.datetime.now(dt.UTC))
    suite_id = ExpectationSuiteIdentifier(name=suite.name)
    published = []
    for batch in batches:
        result = batch.validate(suite, result_format=RESULT_FORMAT)
        result.meta |= {"run_id": run_id, "validation_time": run_id.run_time}
        result_id = ValidationResultIdentifier(
            expectation_suite_identifier=suite_id, run_id=run_id, batch_identifier=batch.id
        )
        context.validation_results_store.store_validation_results(
            suite_validation_result=result,
            suite_validation_result_identifier=result_id,
            expectation_suite_identifier=suite_id,
        )
        published.append((result_id, result))
    pages = [suite_id, *(result_id for result_id, _ in published)]  # the suite's page, and each result's
    context.build_data_docs(site_names=[DOCS_SITE], resource_identifiers=pages)
    return published


def _outcome(
    context: AbstractDataContext,
    settings: Settings,
    result_id: Any,
    result: Any,
    frame: Callable[[], pd.DataFrame],
) -> ValidationOutcome:
    """One validation result as the pipeline reads it; ``frame`` is read only to name failing rows."""
    page = context.get_docs_sites_urls(resource_identifier=result_id, site_names=[DOCS_SITE])[0]["site_url"]
    result_json = result.to_json_dict()
    failed = [item for item in result_json["results"] if not item["success"]]
    rows = frame() if failed else pd.DataFrame()
    record_id = settings.schema_.record_id if settings.schema_.record_id in rows else None
    docs_page = Path(page.removeprefix("file://")) if page else None
    site, suite_page = data_docs.site_dir(settings), f"{result_json['suite_name']}.html"
    data_docs.localize(
        site, [site / "index.html", site / "expectations" / suite_page, *([docs_page] if docs_page else [])]
    )
    return ValidationOutcome(
        success=bool(result.success),
        evaluated=len(result_json["results"]),
        failures=[_describe(item, rows, record_id) for item in failed],
        result=json.loads(json.dumps(result_json, default=str)),
        docs_page=docs_page,
        result_id="/".join(result_id.to_tuple()),
    )


def validate_batch(frame: pd.DataFrame, settings: Settings, batch_name: str) -> ValidationOutcome:
    """Validate one arriving raw batch against the data contract."""
    return run_suite(frame, settings, "raw_batch", raw_batch_expectations(settings), batch_name)


def served_window_expectations(settings: Settings, columns: Iterable[str]) -> list[Expectation]:
    """The raw-data contract's column checks that apply to served requests (monitoring/).

    Served requests carry the event's fields but no label, time stamp or
    record id, so the checks on those, and the per-batch row count, are left out;
    every other check (types, null shares, ranges, categories) is the training one.
    """
    present = set(columns) - {settings.schema_.label, settings.schema_.timestamp, settings.schema_.record_id}
    return [e for e in raw_batch_expectations(settings) if getattr(e, "column", None) in present]


def validate_served_window(frame: pd.DataFrame, settings: Settings, name: str) -> ValidationOutcome:
    """Validate one window of served requests against the same contract as training data."""
    return run_suite(frame, settings, "served_window", served_window_expectations(settings, frame.columns), name)


def feature_table_expectations(settings: Settings, expected_rows: int) -> list[Expectation]:
    """What an engineered history table must satisfy; a broken transformation fails here.

    The bounds follow from the raw contract: a mean, max or min of a column stays in that
    column's range; a sum of a non-negative column is non-negative; every row counts at
    least its own event; one row per event, none lost.
    """
    import great_expectations.expectations as gxe

    from features.engineering import history_feature_names

    schema, features = settings.schema_, settings.features
    window = f"{features.window_days}d"
    expectations: list[Expectation] = []

    def add(check: str, expectation: Expectation) -> None:
        expectation.meta = {"check": check, "source": settings.source("features.history")}
        expectations.append(expectation)

    for column in [schema.entity, schema.timestamp, *history_feature_names(features)]:
        add(f"{column}.exists", gxe.ExpectColumnToExist(column=column))
    for column in (schema.entity, schema.timestamp):
        add(f"{column}.not_null", gxe.ExpectColumnValuesToNotBeNull(column=column))
    add("event.unique", gxe.ExpectCompoundColumnsToBeUnique(column_list=[schema.entity, schema.timestamp]))
    add("rows.one_per_event", gxe.ExpectTableRowCountToEqual(value=expected_rows))
    count = features.history_names[0]
    add(f"{count}.range", gxe.ExpectColumnValuesToBeBetween(column=count, min_value=1))
    add(f"{count}.not_null", gxe.ExpectColumnValuesToNotBeNull(column=count))
    for column, aggregations in features.history.items():
        spec = schema.numeric[column]
        for how in aggregations:
            name = f"{column}_{how}_{window}"
            add(f"{name}.not_null", gxe.ExpectColumnValuesToNotBeNull(column=name, mostly=1.0 - spec.max_null_share))
            if how == "sum":
                bounds = {"min_value": min(spec.min, 0.0)}
            else:
                bounds = {"min_value": spec.min, "max_value": spec.max}
            add(f"{name}.range", gxe.ExpectColumnValuesToBeBetween(column=name, **bounds))
    return expectations


def validate_feature_table(frame: pd.DataFrame, settings: Settings, name: str, expected_rows: int) -> ValidationOutcome:
    """Validate an engineered feature table before it replaces the published one."""
    return run_suite(frame, settings, "feature_table", feature_table_expectations(settings, expected_rows), name)


def _describe(item: dict[str, Any], frame: pd.DataFrame, record_id: str | None) -> FailedExpectation:
    config, result = item["expectation_config"], item.get("result") or {}
    meta = config.get("meta") or {}
    check = meta.get("check", config["type"])
    errors = {v.get("exception_message") for v in (item.get("exception_info") or {}).values() if isinstance(v, dict)}
    errors |= {(item.get("exception_info") or {}).get("exception_message")}
    errors.discard(None)
    if errors:
        observed = "; ".join(sorted(str(e) for e in errors))
    elif result.get("unexpected_count") is not None:
        sample = ", ".join(repr(v) for v in (result.get("partial_unexpected_list") or [])[:5])
        observed = f"{result['unexpected_count']} unexpected ({result.get('unexpected_percent', 0):.1f}%)"
        observed += f", e.g. {sample}" if sample else ""
        rows = result.get("partial_unexpected_index_list") or []
        if record_id and rows and all(isinstance(r, int) for r in rows):  # name the rows by their record id
            observed += f"; {record_id} " + ", ".join(str(v) for v in frame[record_id].iloc[rows[:10]])
    else:
        observed = f"observed {result.get('observed_value')!r}"
    return FailedExpectation(check, config["type"], observed, str(meta.get("source", "")))
