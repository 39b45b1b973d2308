"""The case study's numbers, measured on this project: KPIs from its audit trail and its registry.

The maturity model's case study reports what a mature platform achieved (time to market,
a 99.9% deployment success rate, ten times more experiments). Here the same quantities
are read from what the platform records, for a project of this template that has run:

* **time from new data to champion**: from the retrain trigger that saw new data (or, for
  a version trained by hand, the start of its training run) to its promotion to champion;
* **deployment success rate**: champions replaced after a canary, over canaries started
  (promoted, rolled back, or still running);
* **rollbacks**: challengers retired, by whom;
* **experiments per week**: training runs and the candidates they tried, by ISO week;
* **models in production**: registered models with a champion, and the versions serving.

The trail is read through ``governance.audit`` (``history`` and ``verify``), the registry
and the runs through ``core.registry``'s one client.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import registry
from core.settings import Settings
from governance import audit
from maturity.model import CASE_STUDY


@dataclass(frozen=True)
class Promotion:
    version: str
    time: dt.datetime
    started: dt.datetime | None  # when the new data was seen (or the training run began)
    from_trigger: bool  # started by a retrain trigger, not by a person
    after_canary: bool  # it replaced a champion

    @property
    def time_to_champion(self) -> dt.timedelta | None:
        return self.time - self.started if self.started else None


@dataclass(frozen=True)
class Kpis:
    promotions: list[Promotion]
    rollbacks: list[tuple[dt.datetime, str, str]]  # (when, version, actor)
    triggers: list[dt.datetime]
    canary_running: bool
    weeks: dict[str, tuple[int, int]]  # ISO week -> (training runs, candidates)
    models_in_production: int
    serving: dict[str, str]  # alias -> version, for champion and challenger
    trail_problems: list[str] = field(default_factory=list)

    @property
    def canaries_promoted(self) -> int:
        return sum(p.after_canary for p in self.promotions)

    @property
    def canaries_started(self) -> int:
        return self.canaries_promoted + len(self.rollbacks) + int(self.canary_running)

    @property
    def success_rate(self) -> float | None:
        return self.canaries_promoted / self.canaries_started if self.canaries_started else None

    @property
    def times_to_champion(self) -> list[dt.timedelta]:
        return [d for p in self.promotions if (d := p.time_to_champion) is not None]

    @property
    def median_time_to_champion(self) -> dt.timedelta | None:
        times = self.times_to_champion
        return dt.timedelta(seconds=statistics.median(t.total_seconds() for t in times)) if times else None

    @property
    def experiments_last_week(self) -> int:
        return sum(self.weeks[max(self.weeks)]) if self.weeks else 0


def _when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _run_start(settings: Settings, run_id: str | None) -> dt.datetime | None:
    from mlflow.exceptions import MlflowException

    if not run_id:
        return None
    try:
        millis = registry.client(settings).get_run(run_id).info.start_time
    except MlflowException:
        return None
    return dt.datetime.fromtimestamp(millis / 1000, dt.UTC)


def _promotions(settings: Settings, entries: list[audit.AuditEntry]) -> list[Promotion]:
    found, last_champion = [], None
    for index, entry in enumerate(entries):
        if entry.event != "promotion" or entry.details.get("alias") != registry.CHAMPION:
            continue
        before = entries[:index]
        registration = next(
            (e for e in reversed(before) if e.event == "registration" and e.version == entry.version), None
        )
        since = _when(last_champion.time) if last_champion else dt.datetime.min.replace(tzinfo=dt.UTC)
        cutoff = _when(registration.time) if registration else _when(entry.time)
        trigger = next(
            (e for e in reversed(before) if e.event == "retrain_trigger" and since < _when(e.time) <= cutoff), None
        )
        run_id = str(registration.details.get("run_id")) if registration else None
        started = _when(trigger.time) if trigger else _run_start(settings, run_id)
        replaced = entry.details.get("previous") not in (None, "", entry.version)
        found.append(Promotion(str(entry.version), _when(entry.time), started, trigger is not None, replaced))
        last_champion = entry
    return found


def _weeks(settings: Settings) -> dict[str, tuple[int, int]]:
    client = registry.client(settings)
    experiment = client.get_experiment_by_name(settings.mlflow.experiment)
    if experiment is None:
        return {}
    weeks: dict[str, list[int]] = {}
    for run in client.search_runs([experiment.experiment_id], max_results=5000):
        year, week, _ = dt.datetime.fromtimestamp(run.info.start_time / 1000, dt.UTC).isocalendar()
        counts = weeks.setdefault(f"{year}-W{week:02d}", [0, 0])
        counts["mlflow.parentRunId" in run.data.tags] += 1
    return {week: (counts[0], counts[1]) for week, counts in sorted(weeks.items())}


def _in_production(settings: Settings) -> int:
    models: list[Any] = list(registry.client(settings).search_registered_models())
    return sum(registry.CHAMPION in getattr(m, "aliases", {}) for m in models)


def measure(settings: Settings) -> Kpis:
    """Read the KPIs from the project's trail and registry (nothing is written)."""
    check = audit.verify(settings)
    entries = audit.history(settings)
    aliases = registry.aliases(settings)
    return Kpis(
        promotions=_promotions(settings, entries),
        rollbacks=[(_when(e.time), str(e.version), e.actor) for e in entries if e.event == "rollback"],
        triggers=[_when(e.time) for e in entries if e.event == "retrain_trigger"],
        canary_running=registry.CHALLENGER in aliases,
        weeks=_weeks(settings),
        models_in_production=_in_production(settings),
        serving={a: v for a, v in aliases.items() if a in (registry.CHAMPION, registry.CHALLENGER)},
        trail_problems=check.problems,
    )


def _duration(delta: dt.timedelta | None) -> str:
    if delta is None:
        return "n/a"
    seconds = delta.total_seconds()
    return f"{seconds / 60:.1f} min" if seconds < 3600 * 48 else f"{seconds / 86400:.1f} days"


def rows(k: Kpis) -> list[tuple[str, str, str]]:
    """(KPI, this project, the case study's figure) for the report."""
    rate = f"{k.canaries_promoted}/{k.canaries_started} ({k.success_rate:.0%})" if k.success_rate is not None else "n/a"
    latest = k.promotions[-1] if k.promotions else None
    by = {actor: sum(r[2] == actor for r in k.rollbacks) for actor in sorted({r[2] for r in k.rollbacks})}
    serving = ", ".join(f"{a} v{v}" for a, v in sorted(k.serving.items())) or "none"
    weeks = len(k.weeks)
    runs = sum(sum(v) for v in k.weeks.values())
    return [
        (
            "time from new data to champion",
            f"median {_duration(k.median_time_to_champion)} over {len(k.times_to_champion)} promotion(s); "
            f"latest v{latest.version}: {_duration(latest.time_to_champion)} (the clock starts at the retrain "
            "trigger, or at the training run's start when a person started it)"
            if latest
            else "no champion yet",
            f"time to market cut by {CASE_STUDY['time_to_market_reduction']:.0%}",
        ),
        (
            "deployment success rate",
            f"{rate} canaries promoted" + (" (one still running)" if k.canary_running else ""),
            f"{CASE_STUDY['deployment_success_rate']:.1%}",
        ),
        (
            "rollbacks",
            f"{len(k.rollbacks)}" + (f" ({', '.join(f'{a}: {n}' for a, n in by.items())})" if by else ""),
            "-",
        ),
        (
            "experiments per week",
            f"{k.experiments_last_week} in the latest week; {runs} run(s) over {weeks} week(s)",
            f"{CASE_STUDY['experiments_multiplier']}x more experiments",
        ),
        ("models in production", f"{k.models_in_production} (serving: {serving})", "-"),
    ]


def markdown(k: Kpis, chart: Path | None) -> str:
    lines = ["## KPIs of this project (from its audit trail and registry)", ""]
    if k.trail_problems:
        lines += [f"> The audit trail does not verify ({k.trail_problems[0]}): these numbers rest on it.", ""]
    lines += ["| KPI | this project | the case study |", "|---|---|---|"]
    lines += [f"| {name} | {value} | {reference} |" for name, value, reference in rows(k)]
    if chart is not None:
        lines += ["", f"![KPIs]({chart.name})"]
    return "\n".join([*lines, ""])


def chart(k: Kpis, path: Path) -> Path:
    """Experiments per week, and the trail's events over time with the time to each champion."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (runs, events) = plt.subplots(1, 2, figsize=(13, 5), dpi=110, gridspec_kw={"width_ratios": [1, 1.6]})
    weeks = list(k.weeks)
    training = [k.weeks[w][0] for w in weeks]
    candidates = [k.weeks[w][1] for w in weeks]
    runs.bar(weeks, training, color="#2980b9", label="training runs")
    runs.bar(weeks, candidates, bottom=training, color="#85c1e9", label="candidates tried")
    runs.set_title("Experiments per week")
    runs.tick_params(axis="x", labelrotation=45, labelsize=8)
    runs.legend(fontsize=8)
    for row, (label, times, colour, marker) in enumerate(
        [
            ("retrain triggers", k.triggers, "#e67e22", "o"),
            ("champions", [p.time for p in k.promotions], "#27ae60", "^"),
            ("rollbacks", [r[0] for r in k.rollbacks], "#c0392b", "v"),
        ]
    ):
        events.scatter(times, [row] * len(times), color=colour, marker=marker, s=80, label=label)
    for p in k.promotions:
        events.annotate(f"v{p.version}: {_duration(p.time_to_champion)}", (p.time, 1), xytext=(0, 10),
                        textcoords="offset points", fontsize=8, ha="center")  # fmt: skip
    events.set_yticks(range(3), ["retrain triggers", "champions", "rollbacks"])
    events.set_ylim(-0.7, 2.7)
    rate = f"{k.success_rate:.0%}" if k.success_rate is not None else "n/a"
    events.set_title(f"Audit trail: deployment success {rate}, {len(k.rollbacks)} rollback(s)")
    figure.autofmt_xdate()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path
