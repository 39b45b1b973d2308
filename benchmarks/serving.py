"""Benchmark the service: ``make bench-serving``. A table, with baselines from the same run.

Builds a throwaway workspace with the real training flow (a champion, then a challenger
through the gate), starts the BentoML service and a minimal Starlette app on loopback,
and sends the same applications to each at concurrency 1, 8 and 32. The service is
measured champion-only, as a 50% canary and in shadow mode. Baselines: the in-process
path (feature lookup and model, no HTTP), split into its parts, and the minimal app.
The cost of keeping the online store current at request time (``features.fresh_online``:
each answered event's history row written to Feast) is measured against a second
service, the same but with it off, champion-only, in the same run.
Client and servers share this machine's cores, so read the ratios, not the absolutes.
It then prints the targets as ratios from the same run (canary throughput at concurrency
32 against the minimal app, p99/p50 at concurrency 1 on every path, errors), the load
average, and the mean time of each stage inside the service (its ``credit_stage_seconds``).

The load comes from ``wrk`` (C, event loop; Debian package ``wrk``) when it is installed,
otherwise from Python client threads, whose own overhead (a few ms per request and a
share of the GIL) lands in every latency; ``--client`` chooses.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pandas as pd
import sklearn
from rich.console import Console
from rich.table import Table

from core import processes
from core.environment import apply_tool_environment
from core.registry import CHALLENGER, CHAMPION
from core.settings import DEFAULT_PARAMS, PROJECT_ROOT, Settings, load_settings
from features.engineering import features_of
from serving import launch
from serving.canary import CanaryState, write_state
from serving.controller import wait_until_routing
from serving.models import load_alias
from serving.schema import request_bodies, service_models

CONCURRENCY = (1, 8, 32)
FRESH_OFF = "champion only, fresh_online off"
BATCH = 32


def _load(url: str, bodies: list[str], concurrency: int, total: int) -> dict[str, float]:
    """``total`` requests from ``concurrency`` client threads; client-side latency in ms."""
    latencies: list[float] = []
    errors = 0
    lock, counter = threading.Lock(), iter(range(total))

    def client() -> None:
        nonlocal errors
        with httpx.Client(base_url=url, timeout=30) as session:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                started = time.perf_counter()
                reply = session.post(
                    "/predict", content=bodies[i % len(bodies)], headers={"content-type": "application/json"}
                )
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(elapsed)
                    errors += reply.status_code != 200

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98], "rps": len(latencies) / wall, "errors": errors}


WRK_SCRIPT = """
local bodies = {%s}
local i = 0
request = function()
  i = i %% #bodies + 1
  return wrk.format("POST", "/predict", {["Content-Type"] = "application/json"}, bodies[i])
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT p50=%%d p95=%%d p99=%%d requests=%%d seconds=%%f errors=%%d\\n",
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    summary.requests, summary.duration / 1e6,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout))
end
"""


def _wrk(url: str, bodies: list[str], concurrency: int, seconds: float, folder: Path) -> dict[str, float]:
    """``wrk`` for ``seconds`` with ``concurrency`` connections, cycling through ``bodies``."""
    script = folder / "bench.lua"
    quoted = ",".join("[==[" + body + "]==]" for body in bodies)
    script.write_text(WRK_SCRIPT % quoted)
    threads = str(min(concurrency, 2))
    command = ["wrk", "-t", threads, "-c", str(concurrency), "-d", f"{seconds:.0f}s", "-s", str(script), url]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(row for row in output.splitlines() if row.startswith("RESULT "))
    values = dict(pair.split("=") for pair in line.removeprefix("RESULT ").split())
    return {
        "p50": float(values["p50"]) / 1000,  # wrk reports microseconds
        "p95": float(values["p95"]) / 1000,
        "p99": float(values["p99"]) / 1000,
        "rps": float(values["requests"]) / float(values["seconds"]),
        "errors": float(values["errors"]),
    }


def _workspace(folder: Path) -> Settings:
    """A trained champion and a gated challenger, through the real flow."""
    (folder / "params.yaml").write_text(DEFAULT_PARAMS.read_text())
    settings = load_settings(folder / "params.yaml", environ={})
    apply_tool_environment(settings)
    from pipelines.flows.training import training_pipeline

    # The gate's one-row latency rule is timed, so a busy machine can refuse a model; this
    # benchmark needs its two models whatever the load, and measures serving itself.
    roomy = {"gate.latency_budget_ms": 10_000.0}
    training_pipeline(settings.overridden(roomy))
    training_pipeline(settings.overridden({**roomy, "gate.min_improvement": 0.0}))
    return settings


def _bodies(settings: Settings, n: int = 500) -> list[str]:
    from features.ingest import load_raw

    requests = request_bodies(load_raw(settings).tail(5 * n), settings.schema_, n)
    request_model = service_models(settings.schema_).request
    return [request_model.model_validate(r).model_dump_json() for r in requests]


def _without_fresh_rows(settings: Settings) -> Settings:
    """The same workspace read through a second params file with ``features.fresh_online: false``."""
    import yaml

    tree = yaml.safe_load(settings.params_file.read_text())
    tree.setdefault("features", {})["fresh_online"] = False
    tree.setdefault("serving", {})["workers"] = 1  # as many processes as the service it is compared with
    path = settings.params_file.with_name("params-no-fresh.yaml")
    path.write_text(yaml.safe_dump(tree, sort_keys=False))
    return load_settings(path, environ={})


def _in_process(settings: Settings, bodies: list[str], calls: int = 300) -> dict[str, float]:
    from features.freshness import FreshHistory
    from features.store import HISTORY_VIEW, OnlineFeatures

    features, champion = OnlineFeatures(settings), load_alias(settings, CHAMPION)
    fresh = FreshHistory(settings, HISTORY_VIEW)
    if champion is None:
        raise RuntimeError("no champion in the benchmark workspace")
    request_model = service_models(settings.schema_).request
    requests = [request_model.model_validate_json(b).model_dump(exclude={"request_id"}) for b in bodies[:calls]]
    frames = [pd.DataFrame([request]) for request in requests]
    for frame in frames:  # a warm pass, as a server under traffic is: caches filled, code paths hot
        champion.risk(features(frame))
    entity, timestamp = settings.schema_.entity, settings.schema_.timestamp
    lookup, model, write, total = [], [], [], []
    for frame in frames:
        t0 = time.perf_counter()
        joined = features(frame)
        t1 = time.perf_counter()
        champion.risk(joined)
        t2 = time.perf_counter()
        row = frame.iloc[0]
        fresh.record(str(row[entity]), row.get(timestamp), {str(k): v for k, v in row.items()})
        t3 = time.perf_counter()
        lookup.append((t1 - t0) * 1000)
        model.append((t2 - t1) * 1000)
        write.append((t3 - t2) * 1000)
        total.append((t2 - t0) * 1000)
    batched, written = [], []  # a batch of 32: one read and one model call; its 32 history rows in one write
    for start in range(0, calls - BATCH + 1, BATCH):
        rows = pd.DataFrame(requests[start : start + BATCH])
        events = [(str(r[entity]), r.get(timestamp), r) for r in requests[start : start + BATCH]]
        t0 = time.perf_counter()
        fresh.record_many(events)
        written.append((time.perf_counter() - t0) * 1000 / BATCH)
        t0 = time.perf_counter()
        joined = features(rows)
        with sklearn.config_context(assume_finite=True):
            champion.model.predict_proba(features_of(joined, champion.columns))
        batched.append((time.perf_counter() - t0) * 1000 / BATCH)
    fresh.close()
    return {
        "feature lookup": statistics.median(lookup),
        "model": statistics.median(model),
        "total": statistics.median(total),
        "history row computed and written, one at a time (fresh_online)": statistics.median(write),
        f"history row computed and written, {BATCH} in one write (the writer process under load)": statistics.median(
            written
        ),
        f"total per request, {BATCH} requests in one read and one model call": statistics.median(batched),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="make bench-serving", description=__doc__)
    parser.add_argument(
        "--requests", type=int, default=400, help="requests per measurement at concurrency 1 (x4 above)"
    )
    parser.add_argument(
        "--client",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="load generator: wrk (if installed: apt-get install wrk) or Python threads",
    )
    parser.add_argument("--seconds", type=float, default=8.0, help="seconds per measurement with wrk")
    args = parser.parse_args(argv)
    use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk") is not None)
    folder = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    console = Console(width=max(Console().width, 110))  # a table that wraps in a log is hard to read
    servers: list[subprocess.Popen[bytes]] = []
    try:
        console.print("building a workspace with a champion and a challenger (the real flow, twice)...")
        settings = _workspace(folder)
        challenger = load_alias(settings, CHALLENGER)
        if challenger is None:
            raise RuntimeError("the second training run registered no challenger")
        bodies = _bodies(settings)
        parts = _in_process(settings, bodies)

        bento_url, minimal_url, stale_url = (f"http://127.0.0.1:{processes.free_port()}" for _ in range(3))
        uvicorn = str(PROJECT_ROOT / ".venv" / "bin" / "uvicorn")
        bento_port, minimal_port = bento_url.rsplit(":", 1)[1], minimal_url.rsplit(":", 1)[1]
        servers.append(
            launch.start(launch.service_command(bento_port), settings, settings.state / "bench-bento.log", bento_port)
        )
        minimal = [uvicorn, "benchmarks.minimal_app:build", "--factory", "--host", "127.0.0.1", "--port", minimal_port]
        servers.append(
            launch.start([*minimal, "--log-level", "warning"], settings, settings.state / "bench-minimal.log")
        )
        stale = _without_fresh_rows(settings)
        stale_port = stale_url.rsplit(":", 1)[1]
        servers.append(
            launch.start(launch.service_command(stale_port), stale, settings.state / "bench-stale.log", stale_port)
        )
        processes.wait_until(servers[0], bento_url + "/readyz")
        processes.wait_until(servers[2], stale_url + "/readyz")
        processes.wait_until(servers[1], minimal_url + "/predict", statuses=(405,))  # up: GET is not allowed

        modes = {
            "champion only": CanaryState(),
            "canary 50%": CanaryState(challenger.version, 50),
            "shadow": CanaryState(challenger.version, 0, shadow=True),
        }

        def measure(url: str, concurrency: int) -> dict[str, float]:
            _load(url, bodies, concurrency, 50)  # warm-up
            if use_wrk:
                return _wrk(url, bodies, concurrency, args.seconds, folder)
            return _load(url, bodies, concurrency, args.requests * (1 if concurrency == 1 else 4))

        console.print(f"load generator: {'wrk' if use_wrk else 'Python client threads'}")
        workers, loads = settings.service_workers(os.cpu_count()), os.getloadavg()
        results: dict[tuple[str, int], dict[str, float]] = {}
        for concurrency in CONCURRENCY:
            results[("minimal Starlette app", concurrency)] = measure(minimal_url, concurrency)
            for mode, state in modes.items():
                write_state(settings, state)
                wait_until_routing(bento_url, state)
                results[(mode, concurrency)] = measure(bento_url, concurrency)
                if mode == "champion only":
                    wait_until_routing(stale_url, state)
                    results[(FRESH_OFF, concurrency)] = measure(stale_url, concurrency)
        stages = _stage_means(httpx.get(bento_url + "/metrics", timeout=30).text)
        load = f"{loads[0]:.1f} before, {os.getloadavg()[0]:.1f} after"
        console.print(f"{os.cpu_count()} cores; load average (1 min) {load}; service workers: {workers}")
        _print(console, results, parts, stages)
    finally:
        for server in servers:
            processes.stop(server)
        shutil.rmtree(folder, ignore_errors=True)


def _stage_means(metrics: str) -> dict[str, float]:
    """Mean ms of each stage inside the service over the whole run, from its ``credit_stage_seconds`` histogram."""
    from prometheus_client.parser import text_string_to_metric_families

    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(metrics):
        for sample in family.samples:
            if sample.name == "credit_stage_seconds_sum":
                sums[sample.labels["stage"]] = sample.value
            elif sample.name == "credit_stage_seconds_count":
                counts[sample.labels["stage"]] = sample.value
    return {stage: 1000 * sums[stage] / counts[stage] for stage in sums if counts.get(stage)}


def _targets(results: dict[tuple[str, int], dict[str, float]]) -> Table:
    """The serving targets, each as a ratio measured in this run."""
    table = Table(title="Targets (ratios from this run)")
    for column in ("target", "measured", "goal", "met"):
        table.add_column(column, justify="left" if column == "target" else "right")
    ratio = results[("canary 50%", 32)]["rps"] / results[("minimal Starlette app", 32)]["rps"]
    table.add_row("canary req/s vs minimal one-row app, conc. 32", f"{ratio:.2f}x", ">= 2x", _yes(ratio >= 2))
    for (path, concurrency), r in results.items():
        if concurrency == 1:
            tail = r["p99"] / r["p50"]
            table.add_row(f"p99 / p50 at conc. 1: {path}", f"{tail:.1f}", "<= 3", _yes(tail <= 3))
    errors = sum(r["errors"] for r in results.values())
    table.add_row("errors, all runs", f"{errors:.0f}", "0", _yes(errors == 0))
    return table


def _yes(met: bool) -> str:
    return "yes" if met else "NO"


def _print(
    console: Console,
    results: dict[tuple[str, int], dict[str, float]],
    parts: dict[str, float],
    stages: dict[str, float],
) -> None:
    table = Table(title="Serving over HTTP on loopback (client-side latency, ms)")
    for column in ("path", "conc.", "p50", "p95", "p99", "p99/p50", "req/s", "errors", "req/s vs minimal app"):
        table.add_column(column, justify="left" if column == "path" else "right")
    for (path, concurrency), r in results.items():
        base = results[("minimal Starlette app", concurrency)]["rps"]
        table.add_row(
            path,
            str(concurrency),
            f"{r['p50']:.1f}",
            f"{r['p95']:.1f}",
            f"{r['p99']:.1f}",
            f"{r['p99'] / r['p50']:.1f}",
            f"{r['rps']:.0f}",
            f"{r['errors']:.0f}",
            f"{r['rps'] / base:.2f}",
        )
    console.print(table)
    console.print(_targets(results))
    split = Table(title="In process, no HTTP (median ms per request): where the time goes")
    split.add_column("part")
    split.add_column("ms", justify="right")
    for part, ms in parts.items():
        split.add_row(part, f"{ms:.2f}")
    http_p50 = results[("canary 50%", 1)]["p50"]
    split.add_row(
        "HTTP, validation, routing, logging (canary p50 at conc. 1 minus total)", f"{http_p50 - parts['total']:.2f}"
    )
    for stage, ms in stages.items():
        split.add_row(f"inside the service, all runs (mean): {stage}", f"{ms:.2f}")
    console.print(split)
    cost = Table(title="Request-path cost of fresh history rows (features.fresh_online), champion only")
    for column in ("conc.", "p50 on/off", "p99 on/off", "req/s on/off"):
        cost.add_column(column, justify="right")
    for concurrency in CONCURRENCY:
        on, off = results[("champion only", concurrency)], results[(FRESH_OFF, concurrency)]
        cost.add_row(
            str(concurrency),
            f"{on['p50'] / off['p50']:.2f}",
            f"{on['p99'] / off['p99']:.2f}",
            f"{on['rps'] / off['rps']:.2f}",
        )
    console.print(cost)


if __name__ == "__main__":
    main()
