"""Point every tool of the stack at the state folder, with telemetry off.

The same mapping serves two callers: the pipeline applies it to its own process
before it imports Prefect or MLflow, and ``make env`` prints it as ``export`` lines so
the official CLIs and UIs (``mlflow ui``, ``prefect``, ``dvc``, ``feast``, ``bentoml``)
see exactly the state the pipeline wrote.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import MutableMapping
from pathlib import Path

from core.settings import PROJECT_ROOT, Settings, load_settings

# Opt-outs that the tools honour (checked on this machine; see STACK-NOTES).
TELEMETRY_OFF: dict[str, str] = {
    "DO_NOT_TRACK": "1",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "BENTOML_DO_NOT_TRACK": "true",
    "DVC_NO_ANALYTICS": "1",
    "GX_ANALYTICS_ENABLED": "false",
    "FEAST_USAGE": "False",
    # Prefect's UI: no "upgrade to Cloud" content. Its V2 UI (/v2) starts an analytics
    # client in the browser whatever the server's analytics setting says, so it stays off:
    # every address then opens the one UI (V1), which makes no outside call.
    "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
    "PREFECT_SERVER_UI_V2_ENABLED": "false",
}


def tool_environment(settings: Settings) -> dict[str, str]:
    """Environment variables that make every tool read and write under ``settings.state``."""
    state = settings.state
    env = {
        "MLOPS_PARAMS": str(settings.params_file),
        "MLOPS_STATE_DIR": str(state),
        "MLOPS_PROFILE": settings.profile,
        # The project's name: the feast CLI's feature_store*.yaml reads its Feast project from it.
        "MLOPS_PROJECT": settings.project,
        # The feast CLI reads the profile's feature store file (team: SQL registry, Redis).
        "FEAST_FS_YAML_FILE_PATH": str(PROJECT_ROOT / "features" / "feature_repo" / settings.features.store_config),
        "MLFLOW_TRACKING_URI": settings.tracking_uri,
        "PREFECT_HOME": str(state / "prefect"),
        # Where `prefect server start` keeps its copies of the UI (infra/prefect_ui.py).
        "PREFECT_SERVER_UI_STATIC_DIRECTORY": str(state / "prefect" / "ui"),
        # A brand-new Prefect database migrates for longer than the default 20 s.
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
        "BENTOML_HOME": str(state / "bentoml"),
        "DVC_SITE_CACHE_DIR": str(state / "dvc-site-cache"),
        "MPLCONFIGDIR": str(state / "matplotlib"),  # the feast CLI imports matplotlib
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        **TELEMETRY_OFF,
    }
    if settings.prefect.api_url:
        env["PREFECT_API_URL"] = settings.prefect.api_url
    return env


def apply_tool_environment(settings: Settings, environ: MutableMapping[str, str] | None = None) -> None:
    """Export the tool environment into this process and create the folders it names."""
    target = os.environ if environ is None else environ
    env = tool_environment(settings)
    for key in ("PREFECT_HOME", "BENTOML_HOME", "DVC_SITE_CACHE_DIR", "MPLCONFIGDIR"):
        Path(env[key]).mkdir(parents=True, exist_ok=True)
    (settings.state / "mlflow").mkdir(parents=True, exist_ok=True)
    target.update(env)
    # Gradient boosting's OpenMP threads otherwise spin while they wait for each other: on
    # a 2-core machine shared with the service (and anything else), a 75k-row fit took 27 s
    # instead of 8 s (and 11.6 s of CPU instead of 2.9). Before scikit-learn loads; a value
    # the user set wins.
    target.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="make env", description="Print export lines that point the stack's CLIs at the state folder."
    )
    parser.add_argument("--params", default=None, help="configuration file (default: params.yaml)")
    args = parser.parse_args(argv)
    settings = load_settings(args.params)
    print('# eval "$(make -s env)"  makes mlflow, prefect, dvc, feast and bentoml use this project\'s state')
    for key, value in tool_environment(settings).items():
        print(f"export {key}={shlex.quote(value)}")
    # The tools themselves: the environment this interpreter belongs to (.venv/bin under make).
    print(f'export PATH={shlex.quote(str(Path(sys.executable).parent))}:"$PATH"')


if __name__ == "__main__":
    main()
