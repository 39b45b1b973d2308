"""``make -s env``: export lines a shell can eval, pointing the tools at the state and putting them on PATH."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.environment import main

pytestmark = pytest.mark.unit


def test_the_printed_lines_put_the_environments_tools_on_path(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["--params", str(workspace / "params.yaml")])
    lines = capsys.readouterr().out
    shell = subprocess.run(
        ["bash", "-c", f'{lines}\necho "$PATH"; echo "$MLOPS_STATE_DIR"; command -v python'],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    ).stdout.splitlines()
    assert shell[0].split(":")[0] == str(Path(sys.executable).parent)
    assert shell[1] == str(workspace / ".state")
    assert shell[2] == str(Path(sys.executable).parent / "python")
