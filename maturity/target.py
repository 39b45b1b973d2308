"""What the assessment looks at: a repository's files, and its live state where reachable.

``Target`` reads a folder once and caches what the probes ask for: its source files,
its ``params.yaml`` (when it is a project of this template) and, from there, the state
folder with the MLflow store, the DVC cache and remote, the Feast registry and the
reports. Nothing is created in the assessed folder: a store that does not exist is
reported missing, never opened (opening an SQLite URI would create it).
"""

from __future__ import annotations

import functools
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.settings import Settings, SettingsError, load_settings
from maturity import sources
from maturity.sources import Scope

# Folders that hold tools, caches, installed packages or generated state, not the project's own files.
IGNORED_DIRS = frozenset(
    {".git", ".venv", "venv", "env", ".env", ".state", "node_modules", "__pycache__", "site-packages", ".tox"}
    | {".nox", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".ipynb_checkpoints", "mlruns", "wandb", "cache"}
)
# Code that names practices without practising them: this assessment and its tests.
NOT_EVIDENCE = ("maturity/", "tests/maturity/")
# What any run of the pipeline leaves in the state folder, at every level.
RUN_MARKERS = ("level0", "mlflow/mlflow.db", "dvc-cache", "feast", "serving", "reports/data_docs")
# A project of this template: its params.yaml loads with the template's settings, or this file exists.
TEMPLATE_CODE = "core/settings.py"


@dataclass
class Target:
    root: Path
    settings: Settings | None = None
    settings_problem: str | None = None
    scope: Scope = field(default_factory=lambda: Scope(()))
    _texts: dict[Path, str] = field(default_factory=dict)
    _lines: dict[Path, list[tuple[str, str]]] = field(default_factory=dict)

    @classmethod
    def open(cls, root: Path) -> Target:
        root = root.resolve()
        if not root.is_dir():
            raise NotADirectoryError(f"{root} is not a folder")
        target = cls(root)
        params = root / "params.yaml"
        if params.is_file():
            try:
                # environ={}: the assessed repository's own configuration, not this shell's.
                target.settings = load_settings(params, environ={})
            except SettingsError as exc:
                # Another project's params.yaml (DVC's, say) is not a broken one of this template.
                if (root / TEMPLATE_CODE).is_file():
                    target.settings_problem = str(exc).splitlines()[0]
        toplevel = target.git("rev-parse", "--show-toplevel")
        target.scope = sources.scope_of(root, target._folders, Path(toplevel).resolve() if toplevel else None)
        return target

    @property
    def template_project(self) -> bool:
        """A project of this template (its params.yaml loads, or it has the template's settings code)."""
        return self.settings is not None or self.settings_problem is not None

    @property
    def state(self) -> Path | None:
        """The state folder, when this is a project of the template that has run at least once.

        Judged by what a run leaves behind (``RUN_MARKERS``), not by the folder alone: the
        assessment's own report lives there too, and must not make the project look run.
        """
        if self.settings is None:
            return None
        state = self.settings.state
        return state if any((state / marker).exists() for marker in RUN_MARKERS) else None

    @property
    def live(self) -> bool:
        return self.state is not None

    @functools.cached_property
    def _walk(self) -> tuple[list[Path], list[Path]]:
        found: list[Path] = []
        folders: list[Path] = []
        stack = [self.root]
        while stack:
            folder = stack.pop()
            for entry in sorted(folder.iterdir()):
                if entry.is_dir() and not entry.is_symlink():
                    if entry.name not in IGNORED_DIRS and not self._is_data(entry):
                        stack.append(entry)
                        folders.append(entry)
                elif entry.is_file():
                    found.append(entry)
        return sorted(found), sorted(folders)

    @property
    def _listing(self) -> list[Path]:
        """Every file of the judged part of the repository (a template: what it generates)."""
        files, _ = self._walk
        return [p for p in files if not self.scope.roots or self.scope.covers(p)]

    @property
    def _folders(self) -> list[Path]:
        return self._walk[1]

    def _is_data(self, folder: Path) -> bool:
        data = self.settings.data_dir if self.settings else self.root / "data"
        return folder in {data / "raw", data / "features", data / "landing", data / "quarantine", data / "predictions"}

    def text(self, path: Path) -> str:
        if path not in self._texts:
            try:
                self._texts[path] = path.read_text(errors="replace")[: sources.MAX_TEXT]
            except OSError:
                self._texts[path] = ""
        return self._texts[path]

    def code_files(self, *, tests: bool = False) -> list[Path]:
        """The repository's code and configuration (not prose), not this assessment; tests only if asked."""
        return [
            p
            for p in self._listing
            if sources.is_code(p)
            and not self.rel(p).startswith(NOT_EVIDENCE)
            and (tests or not sources.is_test(self.rel(p)))
        ]

    def lines(self, path: Path) -> list[tuple[str, str]]:
        """(where, line) of the file's code: comments, blank lines and notebooks' prose left out."""
        if path not in self._lines:
            self._lines[path] = sources.code_lines(path, self.text(path))
        return self._lines[path]

    def mentions(self, *needles: str, suffixes: frozenset[str] = frozenset({".py"})) -> list[Path]:
        """Code files whose code (not comments, not tests, not this package) holds any of ``needles``."""
        return [
            p
            for p in self.code_files()
            if sources.logical_suffix(p) in suffixes
            and any(needle in line for _, line in self.lines(p) for needle in needles)
        ]

    @functools.cached_property
    def tracked(self) -> frozenset[Path]:
        """Files in git (the index), or an empty set when this is not a git repository."""
        listed = self.git("ls-files", "-z")
        return frozenset(self.root / name for name in (listed or "").split("\0") if name)

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def git(self, *args: str) -> str | None:
        done = subprocess.run(["git", "-C", str(self.root), *args], capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else None

    # --- live state -------------------------------------------------------------------------

    @functools.cached_property
    def mlflow(self) -> MlflowView | None:
        """The MLflow store named by the settings, if it exists; None otherwise."""
        if self.settings is None or self.state is None:
            return None
        uri = self.settings.tracking_uri
        if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
            return None
        return MlflowView(self.settings)


class MlflowView:
    """Read-only questions to a project's MLflow store (tracking and registry)."""

    def __init__(self, settings: Settings) -> None:
        from core import registry

        self.settings = settings
        self.client = registry.client(settings)

    @functools.cached_property
    def runs(self) -> list[Any]:
        experiment = self.client.get_experiment_by_name(self.settings.mlflow.experiment)
        if experiment is None:
            return []
        return list(
            self.client.search_runs(
                [experiment.experiment_id],
                filter_string="attributes.status = 'FINISHED'",
                order_by=["attributes.start_time DESC"],
                max_results=500,
            )
        )

    @property
    def parent_runs(self) -> list[Any]:
        return [r for r in self.runs if "mlflow.parentRunId" not in r.data.tags]

    def children(self, run_id: str) -> list[Any]:
        return [r for r in self.runs if r.data.tags.get("mlflow.parentRunId") == run_id]

    @functools.cached_property
    def logged_models(self) -> int:
        import mlflow

        experiment = self.client.get_experiment_by_name(self.settings.mlflow.experiment)
        if experiment is None:
            return 0
        mlflow.set_tracking_uri(self.settings.tracking_uri)
        return len(mlflow.search_logged_models(experiment_ids=[experiment.experiment_id], output_format="list"))

    @functools.cached_property
    def aliases(self) -> dict[str, str]:
        from mlflow.exceptions import MlflowException

        try:
            model = self.client.get_registered_model(self.settings.mlflow.registered_model)
        except MlflowException:
            return {}
        return {alias: str(version) for alias, version in model.aliases.items()}

    @functools.cached_property
    def versions(self) -> list[Any]:
        name = self.settings.mlflow.registered_model
        return list(self.client.search_model_versions(f"name='{name}'"))

    def version(self, number: str) -> Any | None:
        return next((v for v in self.versions if str(v.version) == number), None)

    def run(self, run_id: str) -> Any | None:
        return next((r for r in self.runs if r.info.run_id == run_id), None)
