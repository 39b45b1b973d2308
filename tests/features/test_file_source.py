"""Your own file as the source: its latest weeks are held back for replay, and come back as traffic."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from core.settings import PROJECT_ROOT, Settings, load_settings
from features import ingest

pytestmark = pytest.mark.data

EXAMPLE = PROJECT_ROOT / "examples" / "churn"


def example_workspace(folder: Path, **data: object) -> Settings:
    """The churn example's params in ``folder`` (its own data and state), reading the committed file."""
    tree = yaml.safe_load((EXAMPLE / "params.yaml").read_text())
    tree["data"] |= {"file": str(EXAMPLE / "renewals.parquet"), **data}
    (folder / "params.yaml").write_text(yaml.safe_dump(tree))
    return load_settings(folder / "params.yaml", environ={})


def test_the_latest_weeks_are_held_back_and_replayed_once(tmp_path: Path) -> None:
    settings = example_workspace(tmp_path)
    weeks = list(ingest.source_weeks(settings))
    landed = ingest.land_batches(settings)
    assert [p.stem for p in landed] == [ingest.batch_name(w) for w in weeks[: -settings.replay_weeks]]
    replay = ingest.traffic_weeks(settings, settings.replay_weeks)
    assert [w.start for w in replay] == weeks[-settings.replay_weeks :]
    first = ingest.week_events(settings, replay[0], "none")
    assert len(first) > 1000 and all(isinstance(e, str) for e in first[settings.schema_.entity])

    ingest.land_frame(settings, first, replay[0])  # replayed: answered and labelled, it lands
    assert ingest.traffic_weeks(settings, 3) == replay[1:]
    assert ingest.land_batches(settings) == []  # a held-back week never lands from the file
    with pytest.raises(ValueError, match=r"3 held-back week\(s\).*needs 4.*make clean"):
        ingest.traffic_weeks(settings, 4)


def test_a_scenario_lands_the_next_held_back_week_transformed(tmp_path: Path) -> None:
    settings = example_workspace(tmp_path, scenario="covariate_shift")
    weeks = list(ingest.source_weeks(settings))
    landed = ingest.land_batches(settings)
    assert landed[-1].stem == ingest.batch_name(weeks[-settings.replay_weeks])
    shifted = ingest.read_table(landed[-1])
    original = ingest.source_weeks(settings)[weeks[-settings.replay_weeks]]
    assert shifted["hours_watched_30d"].mean() > original["hours_watched_30d"].mean()


def test_holding_back_every_week_is_refused_naming_the_keys(tmp_path: Path) -> None:
    settings = example_workspace(tmp_path, replay_weeks=40)
    with pytest.raises(ValueError, match=r"data\.replay_weeks"):
        ingest.land_batches(settings)
