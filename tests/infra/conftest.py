"""Helpers for the infra checks: offline tools shipped as packages (PyPI, npm)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from core.settings import PROJECT_ROOT

VENV_BIN = PROJECT_ROOT / ".venv" / "bin"
K8S = PROJECT_ROOT / "infra" / "k8s"
NODE_CHECK = K8S / "check"


def node_check_ready() -> Path:
    """The Argo Rollouts schema checker, installed by `make setup-integration`.

    Without node it is skipped on a developer's machine; in CI (CI=true) it must run.
    """
    if shutil.which("node") and (NODE_CHECK / "node_modules" / "@kubernetes-models").is_dir():
        return NODE_CHECK / "validate.mjs"
    message = "the Argo Rollouts schema checker is not installed: run `make setup-integration` (needs npm)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def schema_check(path: Path, builtin_schema: str) -> subprocess.CompletedProcess[str]:
    """check-jsonschema (PyPI, offline) against one of its vendored schemas, e.g. ``vendor.compose-spec``."""
    return subprocess.run(
        [str(VENV_BIN / "check-jsonschema"), "--builtin-schema", builtin_schema, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
