"""Serving skew as a production data-quality signal: were the served history features the right ones?

Per window, a sample of the served rows (the prediction log records every feature the
model saw, with the entity and the event's time) is recomputed from the data landed
since: the entity's history over the known events (``features/freshness.py``
``known_events``), joined at the event's time by the point-in-time rule of training
(``join_history``, Feast's rule). Only rows whose own event has landed are checked:
every earlier event of that entity has landed then too. The share of checked rows
whose history differs goes in the window's report and the summary; above
``monitoring.skew.max_share`` it is an alert. Each window's result is also appended to
``monitoring/skew.jsonl`` in the state folder, the live evidence of the maturity assessment.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from core.sections import FeatureSettings
from core.settings import Settings
from features.engineering import entity_history, history_feature_names, join_history
from features.freshness import known_events

ENTITY, EVENT_TIME = "entity", "event_time"  # the prediction log's fields (serving/runtime.py)
SKEW_LOG = "monitoring/skew.jsonl"


@dataclass(frozen=True)
class SkewCheck:
    """How many served rows were recomputed, and how many of them differ."""

    window: str
    checked: int
    differing: int
    max_share: float
    not_landed: int = 0  # sampled rows whose event has not landed yet: not judged
    examples: list[str] = field(default_factory=list)  # a few differing rows, feature by feature

    @property
    def share(self) -> float | None:
        return self.differing / self.checked if self.checked else None

    @property
    def alert(self) -> bool:
        share = self.share
        return share is not None and share > self.max_share

    def __str__(self) -> str:
        if not self.checked:
            return f"serving skew: nothing to check ({self.not_landed} sampled rows not landed yet)"
        flag = " ALERT" if self.alert else ""
        return f"serving skew {self.share:.1%} ({self.differing} of {self.checked} rows differ){flag}"

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "share": self.share, "alert": self.alert}


def skew_log(settings: Settings) -> Path:
    return settings.state / SKEW_LOG


def check_window(settings: Settings, window: str, rows: pd.DataFrame, before: pd.DataFrame | None = None) -> SkewCheck:
    """Recompute a sample of ``rows`` (a window of the prediction log) and count what differs.

    An event served again (the same entity and event time: a retry, a replay) is judged
    at its first serving only, in this window or ``before`` it (the log's earlier rows):
    a later serving reads the store as it is then, not as of the event.
    """
    cfg, schema = settings.monitoring.skew, settings.schema_
    names = history_feature_names(settings.features)
    empty = SkewCheck(window, 0, 0, cfg.max_share)
    if rows.empty or EVENT_TIME not in rows or any(n not in rows for n in names):
        return empty
    served = rows[rows[EVENT_TIME].notna()].drop_duplicates([ENTITY, EVENT_TIME])
    if before is not None and EVENT_TIME in before and len(before):
        seen = pd.MultiIndex.from_frame(before[[ENTITY, EVENT_TIME]].dropna().astype(str))
        served = served[~pd.MultiIndex.from_frame(served[[ENTITY, EVENT_TIME]].astype(str)).isin(seen)]
    served = served.sample(min(cfg.sample_rows, len(served)), random_state=cfg.seed) if len(served) else served
    events = known_events(settings)
    if served.empty or events.empty:
        return replace_landed(empty, len(served))
    stamps = pd.to_datetime(served[EVENT_TIME], utc=True, format="ISO8601")
    keys = pd.DataFrame({schema.entity: served[ENTITY].astype(str).to_numpy(), schema.timestamp: stamps.to_numpy()})
    landed_keys = pd.MultiIndex.from_frame(events[[schema.entity, schema.timestamp]].astype({schema.entity: str}))
    landed = pd.MultiIndex.from_frame(keys).isin(landed_keys)
    if not landed.any():
        return replace_landed(empty, len(served))
    keys, got = keys[landed].reset_index(drop=True), served[landed][names].astype("float64").to_numpy()
    mine = events[events[schema.entity].astype(str).isin(set(keys[schema.entity]))]
    table = entity_history(mine.astype({schema.entity: str}), schema, settings.features)
    want = join_history(keys, table, schema, _history_only(settings))[names].astype("float64").to_numpy()
    same = np.isclose(got, want, rtol=1e-9, atol=1e-9) | (np.isnan(got) & np.isnan(want))
    wrong = ~same.all(axis=1)
    examples = [
        f"{keys.iloc[i][schema.entity]} at {keys.iloc[i][schema.timestamp]}: "
        + ", ".join(
            f"{n} served {got[i, j]:g}, should be {want[i, j]:g}" for j, n in enumerate(names) if not same[i, j]
        )
        for i in np.flatnonzero(wrong)[:3]
    ]
    return SkewCheck(window, int(landed.sum()), int(wrong.sum()), cfg.max_share, int((~landed).sum()), examples)


def record(settings: Settings, check: SkewCheck) -> None:
    """Append the window's result to the skew log (the maturity assessment reads it)."""
    path = skew_log(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(check.as_dict()) + "\n")


def read_log(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def replace_landed(check: SkewCheck, not_landed: int) -> SkewCheck:
    return SkewCheck(check.window, 0, 0, check.max_share, not_landed)


def _history_only(settings: Settings) -> FeatureSettings:
    """The feature settings without request-time ratios: only the stored features are recomputed
    (``join_history`` still finishes them as both read paths do: no history is zero events)."""
    return settings.features.model_copy(update={"ratios": {}})


def check_whole_log(settings: Settings) -> SkewCheck:
    """Every served event in the prediction log (not a sample), each at its first serving."""
    from monitoring import windows

    everything = settings.overridden({"monitoring.skew.sample_rows": 2**62})
    return check_window(everything, "the whole prediction log", windows.load_predictions(settings))


def main(argv: list[str] | None = None) -> int:
    """``make skew``: the whole log checked, as the monitor checks a sample per window; 1 on an alert."""
    import argparse

    from core.settings import load_settings

    parser = argparse.ArgumentParser(prog="python -m monitoring.skew", description=main.__doc__)
    parser.add_argument("--params", default=None, help="params.yaml to read (default: the project's)")
    settings = load_settings(parser.parse_args(argv).params)
    check = check_whole_log(settings)
    print(f"{check}; {check.not_landed} served events not landed yet (not judged)")
    for example in check.examples:
        print(f"  {example}")
    return 1 if check.alert else 0


if __name__ == "__main__":
    raise SystemExit(main())
