"""DVC versioning on a real DVC repo in a temporary workspace."""

import filecmp
from pathlib import Path

import pytest

from core.settings import Settings
from core.synthetic import LenderConfig, generate_week
from features import versioning

pytestmark = pytest.mark.unit

CONFIG = LenderConfig(applications_per_week=100, customers=200)


def add_week(settings: Settings, week: int) -> None:
    settings.raw_dir.mkdir(parents=True, exist_ok=True)
    generate_week(CONFIG, week).to_parquet(settings.raw_dir / f"week_{week:02d}.parquet", index=False)


def test_versions_are_content_hashes_and_old_ones_can_be_restored(settings: Settings, tmp_path: Path) -> None:
    add_week(settings, 1)
    add_week(settings, 2)
    first = versioning.version_raw_data(settings)
    assert first.endswith(".dir")
    assert versioning.current_version(settings) == first
    assert versioning.version_raw_data(settings) == first  # unchanged data, same version
    assert versioning.workspace_status(settings) == {}

    add_week(settings, 3)
    second = versioning.version_raw_data(settings)
    assert second != first

    # The cache goes, the remote stays: restoring must come from the remote.
    import shutil

    shutil.rmtree(settings.state / "dvc-cache")
    restored = versioning.restore_version(settings, first, tmp_path / "restored")
    assert sorted(p.name for p in restored.iterdir()) == ["week_01.parquet", "week_02.parquet"]
    assert filecmp.cmp(restored / "week_01.parquet", settings.raw_dir / "week_01.parquet", shallow=False)


def test_the_cache_and_remote_live_in_the_state_folder(settings: Settings) -> None:
    add_week(settings, 1)
    versioning.version_raw_data(settings)
    assert any((settings.state / "dvc-remote").rglob("*.dir"))
    assert any((settings.state / "dvc-cache").rglob("*"))
    assert not (settings.root / ".dvc" / "cache").exists()
    local = (settings.root / ".dvc" / "config.local").read_text()
    assert "dvc-remote" in local and "dvc-cache" in local


def test_restoring_an_unknown_version_says_so(settings: Settings, tmp_path: Path) -> None:
    add_week(settings, 1)
    versioning.version_raw_data(settings)
    import pytest

    with pytest.raises(FileNotFoundError, match="neither in the DVC cache nor in the remote"):
        versioning.restore_version(settings, "0" * 32 + ".dir", tmp_path / "nowhere")
