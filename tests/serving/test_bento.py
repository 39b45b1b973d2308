"""The bento is the service: its include covers the service's import closure, and built, it serves.

The closure is read from the source (every ``import`` of the project's own packages,
those inside functions too, followed from ``serving/service.py``), so a module the
service starts importing fails here until ``bentofile.yaml`` includes it. The slow test
builds the bento with ``make bento`` (requirements exported from ``uv.lock``, no lock
against the package index: offline) into a temporary BentoML home, and serves it from
there, from a working folder outside the source tree, so only what the bento carries
can be imported.
"""

from __future__ import annotations

import ast
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pathspec
import pytest
import yaml

from core import processes, registry
from core.environment import tool_environment
from tests.serving.conftest import PROJECT, prepare_workspace, register_model
from tests.serving.test_serving_schema import GOOD

pytestmark = pytest.mark.e2e

SERVICE = PROJECT / "serving" / "service.py"
QUALITY_CHECK = PROJECT / "monitoring" / "quality_check.py"  # the cluster canary's analysis job runs it from the image


def _module_file(name: str) -> Path | None:
    """The project file of module ``name`` (a package's ``__init__.py``), None if not the project's."""
    base = PROJECT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file() and ".venv" not in candidate.parts:
            return candidate
    return None


def import_closure(start: Path) -> set[Path]:
    """The project's files that ``start`` imports, directly or not, at import time or inside functions."""
    seen: set[Path] = set()
    todo = [start]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            for name in names:
                parts = name.split(".")
                for depth in range(1, len(parts) + 1):  # a package's __init__ runs on the way in
                    found = _module_file(".".join(parts[:depth]))
                    if found is not None:
                        todo.append(found)
    return seen


def bentofile() -> dict[str, Any]:
    loaded = yaml.safe_load((PROJECT / "bentofile.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.mark.parametrize(
    ("start", "needs"), [(SERVICE, "governance/explain.py"), (QUALITY_CHECK, "monitoring/windows.py")]
)
def test_the_bento_includes_everything_the_service_and_its_quality_job_import(start: Path, needs: str) -> None:
    config = bentofile()
    # BentoML matches its include and exclude with pathspec's "gitwildmatch" patterns: so does this.
    include = pathspec.PathSpec.from_lines("gitwildmatch", list(config["include"]))
    exclude = pathspec.PathSpec.from_lines("gitwildmatch", list(config.get("exclude") or []))
    closure = sorted(str(p.relative_to(PROJECT)) for p in import_closure(start))
    assert needs in closure  # /explain: the defect of issue 20; the quality job reads the log
    missing = [f for f in closure if not include.match_file(f) or exclude.match_file(f)]
    assert not missing, f"bentofile.yaml leaves out modules {start.name} imports: {missing}"


def test_the_bento_requirements_are_exported_from_the_lock() -> None:
    makefile = (PROJECT / "Makefile").read_text()
    target = makefile.split("\nbento:", 1)[1].split("\n\n", 1)[0]
    assert "export --frozen --offline" in target and "--output-file serving/requirements.txt" in target
    assert bentofile()["python"] == {"requirements_txt": "serving/requirements.txt", "lock_packages": False}
    assert (
        not (PROJECT / "serving" / "requirements.txt").exists()
        or "/serving/requirements.txt" in (PROJECT / ".gitignore").read_text()
    )


@pytest.mark.slow
def test_the_built_bento_serves_predict_and_explain_outside_the_source_tree(tmp_path: Path) -> None:
    settings, frame = prepare_workspace(tmp_path)
    register_model(settings, frame, registry.CHAMPION)
    env = {**os.environ, **tool_environment(settings)}  # BENTOML_HOME: the workspace's, a temporary folder
    env.pop("PYTHONPATH", None)
    env.update(UV_OFFLINE="1", PIP_NO_INDEX="1")  # offline: nothing may resolve or download packages
    built = subprocess.run(
        ["make", "bento", f"PARAMS={settings.params_file}"],
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-3000:]
    requirements = (PROJECT / "serving" / "requirements.txt").read_text()
    assert "shap==" in requirements and "bentoml==" in requirements  # the export, the lock's pins
    bentos = list(Path(env["BENTOML_HOME"]).glob("bentos/*/*/bento.yaml"))
    assert len(bentos) == 1, bentos
    bento = bentos[0].parent
    assert tmp_path in bento.parents  # outside the source tree
    assert (bento / "src" / "governance" / "explain.py").is_file()
    assert "shap==" in (bento / "env" / "python" / "requirements.txt").read_text()

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    port = processes.free_port()
    url = f"http://{processes.LOOPBACK}:{port}"
    log = tmp_path / "bento-serve.log"
    command = [str(PROJECT / ".venv" / "bin" / "bentoml"), "serve", str(bento), "--host", processes.LOOPBACK]
    server = processes.start([*command, "--port", str(port)], log, env=env, cwd=elsewhere)
    try:
        processes.wait_until(server, url + "/readyz", (200,), 120, log=log)
        predicted = httpx.post(url + "/predict", json=GOOD, timeout=30)
        assert predicted.status_code == 200, predicted.text
        explained = httpx.post(url + "/explain", json=GOOD, timeout=30)
        assert explained.status_code == 200, explained.text
        assert explained.json()["top_features"]
    finally:
        processes.stop(server)
    # The service was imported from the bento, not from this checkout.
    assert str(PROJECT / "serving") not in log.read_text()
