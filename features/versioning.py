"""Version the raw batches with DVC: add, push to the local remote, and read the version.

The data version is the hash DVC gives the whole ``data/raw`` folder (an md5 ending in
``.dir``). It is recorded with every training run; ``restore_version`` brings that exact
folder back from the remote, however much the data has grown since.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from core.settings import Settings

if TYPE_CHECKING:
    from dvc.repo import Repo


def _dvc_locations(settings: Settings) -> dict[str, Path]:
    state = settings.state
    return {"cache": state / "dvc-cache", "remote": state / "dvc-remote"}


def open_repo(settings: Settings) -> Repo:
    """Open (creating if needed) the DVC repo at the project root, pointed at the state folder.

    The committed ``.dvc/config`` points at the default state folder, for the plain
    ``dvc`` CLI. The paths of this run are written to the git-ignored
    ``.dvc/config.local`` too, so the CLI follows whichever state folder the pipeline
    last used (tests and ``MLOPS_STATE_DIR`` move it).
    """
    from dvc.config_schema import RelPath
    from dvc.repo import Repo

    logging.getLogger("dvc").setLevel(logging.WARNING)  # DVC's hints are for its CLI
    root = settings.root
    if not (root / ".dvc").is_dir():
        with Repo.init(str(root), no_scm=not (root / ".git").exists()) as fresh, fresh.config.edit() as conf:
            conf["core"]["analytics"] = False
            conf["core"]["autostage"] = False
    places = _dvc_locations(settings)
    for path in places.values():
        path.mkdir(parents=True, exist_ok=True)
    repo = Repo(str(root))
    with repo.config.edit("local") as conf:
        conf["cache"]["dir"] = RelPath(str(places["cache"]))
        conf["remote"]["local"] = {"url": RelPath(str(places["remote"]))}
        # A shared remote (team profile): its endpoint and keys come from the environment;
        # each project pushes to its own folder of it (settings.dvc_remote).
        shared = settings.dvc_remote
        if shared:
            conf["remote"]["shared"] = {"url": shared}
        conf["core"]["remote"] = "shared" if shared else "local"
    repo.close()
    return Repo(str(root))


def dvc_file(folder: Path) -> Path:
    return folder.with_name(folder.name + ".dvc")


def version_folders(settings: Settings, folders: list[Path]) -> dict[Path, str]:
    """Track each folder with DVC, push to the remote, and return each folder's version hash."""
    with open_repo(settings) as repo:
        stages = repo.add([str(folder) for folder in folders])  # absolute: DVC resolves against the cwd
        versions = {folder: str(stage.outs[0].hash_info.value) for folder, stage in zip(folders, stages, strict=True)}
        repo.push()
        leftover = repo.status(cloud=True)
        if leftover:
            raise RuntimeError(f"DVC push left data unsynced with the remote: {sorted(leftover)[:5]}")
    return versions


def version_raw_data(settings: Settings) -> str:
    """Track ``data/raw`` with DVC, push it, and return its version hash."""
    return version_folders(settings, [settings.raw_dir])[settings.raw_dir]


def current_version(settings: Settings, folder: Path | None = None) -> str | None:
    """The version recorded in ``<folder>.dvc`` (default ``data/raw``), or None before the first."""
    import yaml

    path = dvc_file(folder or settings.raw_dir)
    if not path.exists():
        return None
    outs = yaml.safe_load(path.read_text()).get("outs", [])
    return str(outs[0]["md5"]) if outs else None


def workspace_status(settings: Settings) -> dict[str, object]:
    """What ``dvc status`` reports for the workspace (empty when up to date)."""
    with open_repo(settings) as repo:
        return dict(repo.status())


def restore_version(settings: Settings, version: str, target: Path) -> Path:
    """Check out the raw data exactly as it was at ``version`` into ``target``."""
    from dvc_data.hashfile.checkout import checkout
    from dvc_data.hashfile.hash_info import HashInfo
    from dvc_data.hashfile.tree import Tree
    from dvc_objects.fs.local import LocalFileSystem

    with open_repo(settings) as repo:
        listing = HashInfo("md5", version)
        cache = repo.cache.local
        repo.cloud.pull([listing])  # the folder's listing first, then the files it names
        if not cache.exists(listing.value):
            raise FileNotFoundError(f"data version {version} is neither in the DVC cache nor in the remote")
        tree = Tree.load(cache, listing)
        pulled = repo.cloud.pull([item for _, _, item in tree])
        if pulled.failed:
            raise FileNotFoundError(f"data version {version}: {len(pulled.failed)} files missing from the remote")
        checkout(str(target), LocalFileSystem(), tree, cache, force=True)
    return target
