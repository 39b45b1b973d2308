"""The fuzzing tier: schemathesis against a real served service and its own OpenAPI document.

Every route of ``/docs.json``, with examples, the coverage phase (boundary values, wrong
types, missing and extra fields, malformed media types, undocumented methods) and
random positive and negative cases, all checks on. The tier passes only on no server
error, no answer that breaks the document, and a healthy service afterwards. The
example count is bounded and the seed fixed, so a run takes about a minute and a
failure reproduces (``st replay`` needs the same seed).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pandas as pd
import pytest

from tests.serving.conftest import Server
from tests.serving.test_serving_schema import GOOD

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MAX_EXAMPLES = 100  # per operation and phase
SEED = 20


def fuzz(server: Server, report: Path) -> tuple[int, str]:
    """Run schemathesis against ``server`` (its cache and report in ``report``); its exit code and output."""
    schemathesis = Path(sys.executable).with_name("schemathesis")
    command = [
        str(schemathesis), "run", f"{server.url}/docs.json", "--url", server.url,
        "--checks", "all", "--continue-on-failure", "--phases", "examples,coverage,fuzzing",
        "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED), "--workers", "1",
        "--request-timeout", "30", "--no-color", "--report", "junit", "--report-dir", str(report),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False, cwd=report)
    return done.returncode, done.stdout + done.stderr


def test_the_service_keeps_its_own_openapi_contract_under_fuzzing(
    served: tuple[Server, pd.DataFrame], tmp_path: Path
) -> None:
    server, _ = served
    document = httpx.get(server.url + "/docs.json").json()
    routes = {path for path in document["paths"]}
    assert {"/predict", "/explain", "/canary", "/readyz", "/metrics"} <= routes

    code, output = fuzz(server, tmp_path)

    cases = re.search(r"(\d+) generated", output)
    assert cases is not None, output[-3000:]
    print(f"schemathesis: {cases.group(1)} cases over {len(routes)} routes")  # the count the note gives
    assert int(cases.group(1)) > 500, output[-3000:]  # every route, positive and negative, was exercised
    assert code == 0, output[-6000:]  # no server error, no answer off the document, no failed check
    assert f"Tested: {len(routes)}" in output, output[-3000:]  # every operation the document lists
    # A healthy service afterwards: ready, and answering.
    assert httpx.get(server.url + "/readyz").status_code == 200
    answer = httpx.post(server.url + "/predict", json=GOOD, timeout=30)
    assert answer.status_code == 200, answer.text
    assert server.process.poll() is None
