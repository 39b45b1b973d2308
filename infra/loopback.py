"""The team stack on loopback, without containers: for the integration tier and a try-out.

PostgreSQL and Redis come from Debian's packages (``make setup-integration``), the
S3-compatible store is moto's server (test grade: in memory, any key accepted), MLflow
and Prefect are the project's own servers. Each runs on a free 127.0.0.1 port, in its
own session so that stopping it takes its children along, with credentials drawn at
random for this run. ``team_stack`` starts them all and stops every one it started, in
reverse order, however the body ends.

The variables of ``TeamStack.environment`` are exactly the ones infra/.env.example
documents for the compose stack: the platform sees the same configuration either way.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from core import processes
from core.environment import TELEMETRY_OFF
from core.processes import free_port
from core.processes import stop as stop_process
from core.settings import PROJECT_ROOT

VENV_BIN = PROJECT_ROOT / ".venv" / "bin"
DATABASES = ("mlflow", "prefect", "feast")
BUCKET = "mlops"


def postgres_bin() -> Path:
    """Debian keeps the server tools out of PATH, under /usr/lib/postgresql/<major>/bin."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name))
    if found:
        return found[-1].parent
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).resolve().parent
    raise FileNotFoundError("PostgreSQL's server tools are missing: run `make setup-integration` (needs root)")


def require(program: str) -> str:
    path = shutil.which(program)
    if not path:
        raise FileNotFoundError(f"{program} is missing: run `make setup-integration` (needs root)")
    return path


@dataclass
class Server:
    """One started server: how to stop it, and where its log is."""

    name: str
    log: Path
    stop: Callable[[], None]
    pid: int | None = None


def _spawn(command: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return processes.start(command, log, env=env)


def _stopper(process: subprocess.Popen[bytes]) -> Callable[[], None]:
    return lambda: stop_process(process)


def wait_for_http(process: subprocess.Popen[bytes], url: str, log: Path, seconds: float = 180) -> None:
    """Poll ``url`` until it answers below 500; fail at once, with the log, if the server dies."""
    processes.wait_until(process, url, statuses=tuple(range(200, 500)), seconds=seconds, log=log)


@dataclass
class TeamStack:
    """Addresses and credentials of a running team stack."""

    folder: Path
    postgres_port: int = field(default_factory=free_port)
    redis_port: int = field(default_factory=free_port)
    s3_port: int = field(default_factory=free_port)
    mlflow_port: int = field(default_factory=free_port)
    prefect_port: int = field(default_factory=free_port)
    # Drawn per run; never written anywhere but the servers' own (temporary) folders.
    postgres_user: str = "mlops"
    postgres_password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    redis_password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    s3_key: str = field(default_factory=lambda: "AK" + secrets.token_hex(8).upper())
    s3_secret: str = field(default_factory=lambda: secrets.token_urlsafe(30))
    servers: list[Server] = field(default_factory=list)

    def database_url(self, database: str, driver: str = "psycopg") -> str:
        return (
            f"postgresql+{driver}://{self.postgres_user}:{self.postgres_password}"
            f"@127.0.0.1:{self.postgres_port}/{database}"
        )

    @property
    def s3_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    @property
    def mlflow_url(self) -> str:
        return f"http://127.0.0.1:{self.mlflow_port}"

    @property
    def prefect_api_url(self) -> str:
        return f"http://127.0.0.1:{self.prefect_port}/api"

    def s3_environment(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": self.s3_key,
            "AWS_SECRET_ACCESS_KEY": self.s3_secret,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": self.s3_endpoint,  # boto3, s3fs (DVC) and MLflow all honour it
        }

    def environment(self) -> dict[str, str]:
        """What a platform process needs to run with the team profile against this stack."""
        return {
            "MLOPS_PROFILE": "team",
            "MLFLOW_TRACKING_URI": self.mlflow_url,
            "PREFECT_API_URL": self.prefect_api_url,
            "FEAST_REGISTRY_URL": self.database_url("feast"),
            "FEAST_REDIS_CONNECTION": f"127.0.0.1:{self.redis_port},password={self.redis_password}",
            "MLOPS_DVC_REMOTE": f"s3://{BUCKET}/dvc",
            "MLOPS_LOOP_STORE": f"s3://{BUCKET}/loop",
            **self.s3_environment(),
        }

    # --- starting each server -------------------------------------------------------
    def _base_env(self) -> dict[str, str]:
        return {**os.environ, **TELEMETRY_OFF, "TMPDIR": str(self.folder / "tmp")}

    def start_postgres(self) -> None:
        """initdb + pg_ctl as the postgres user when root (initdb refuses root), scram passwords."""
        tools = postgres_bin()
        data, sockets = self.folder / "pgdata", self.folder / "pgsock"
        sockets.mkdir()
        secret = self.folder / "pgpass"
        secret.write_text(self.postgres_password + "\n")
        as_owner: list[str] = []
        if os.geteuid() == 0:
            as_owner = ["runuser", "-u", "postgres", "--"]
            for path in (self.folder, sockets, secret):
                shutil.chown(path, "postgres")
        log = self.folder / "postgres.log"
        initdb = [str(tools / "initdb"), "-D", str(data), "-U", self.postgres_user, f"--pwfile={secret}"]
        initdb += ["--auth=scram-sha-256", "--encoding=UTF8", "--no-instructions"]
        subprocess.run([*as_owner, *initdb], check=True, capture_output=True)
        secret.unlink()
        options = f"-c listen_addresses=127.0.0.1 -p {self.postgres_port} -k {sockets} -c fsync=off"
        subprocess.run(
            [*as_owner, str(tools / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start"],
            check=True,
            capture_output=True,
        )

        def stop() -> None:
            subprocess.run([*as_owner, str(tools / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], check=False)

        pid = int((data / "postmaster.pid").read_text().split()[0])
        self.servers.append(Server("postgresql", log, stop, pid))
        import psycopg

        with psycopg.connect(self.database_url("postgres").replace("+psycopg", ""), autocommit=True) as connection:
            for database in DATABASES:
                connection.execute(f"CREATE DATABASE {database}")  # names from a constant

    def start_redis(self) -> None:
        log = self.folder / "redis.log"
        command = [require("redis-server"), "--bind", "127.0.0.1", "--port", str(self.redis_port)]
        command += ["--save", "", "--appendonly", "no", "--requirepass", self.redis_password, "--dir", str(self.folder)]
        process = _spawn(command, log, self._base_env())
        self.servers.append(Server("redis", log, _stopper(process), process.pid))
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.redis_port), 1):
                return
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.1)

    def start_s3(self) -> None:
        log = self.folder / "s3.log"
        process = _spawn(
            [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(self.s3_port)], log, self._base_env()
        )
        self.servers.append(Server("s3 (moto)", log, _stopper(process), process.pid))
        wait_for_http(process, f"{self.s3_endpoint}/moto-api/", log, 60)
        import boto3

        boto3.client("s3", **self._boto_arguments()).create_bucket(Bucket=BUCKET)

    def _boto_arguments(self) -> dict[str, str]:
        return {
            "endpoint_url": self.s3_endpoint,
            "aws_access_key_id": self.s3_key,
            "aws_secret_access_key": self.s3_secret,
            "region_name": "us-east-1",
        }

    def s3_client(self) -> object:
        import boto3

        return boto3.client("s3", **self._boto_arguments())

    def spawn_mlflow(self) -> tuple[subprocess.Popen[bytes], Path]:
        log = self.folder / "mlflow.log"
        env = {**self._base_env(), **self.s3_environment(), "MLFLOW_S3_ENDPOINT_URL": self.s3_endpoint}
        env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"  # no job runner: half the memory
        command = [str(VENV_BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(self.mlflow_port)]
        command += ["--backend-store-uri", self.database_url("mlflow"), "--workers", "1"]
        command += ["--artifacts-destination", f"s3://{BUCKET}/mlflow", "--serve-artifacts"]
        process = _spawn(command, log, env)
        self.servers.append(Server("mlflow", log, _stopper(process), process.pid))
        return process, log

    def spawn_prefect(self) -> tuple[subprocess.Popen[bytes], Path]:
        log = self.folder / "prefect.log"
        home = self.folder / "prefect-home"
        home.mkdir()  # Prefect does not create a missing PREFECT_HOME's parents
        env = {
            **self._base_env(),
            "PREFECT_HOME": str(home),
            "PREFECT_API_DATABASE_CONNECTION_URL": self.database_url("prefect", "asyncpg"),
            "PREFECT_UI_ENABLED": "false",
        }
        env.pop("PREFECT_API_URL", None)
        command = [str(VENV_BIN / "prefect"), "server", "start", "--host", "127.0.0.1"]
        command += ["--port", str(self.prefect_port), "--no-services"]
        process = _spawn(command, log, env)
        self.servers.append(Server("prefect", log, _stopper(process), process.pid))
        return process, log

    def stop_all(self) -> None:
        while self.servers:
            server = self.servers.pop()
            with contextlib.suppress(Exception):
                server.stop()


@contextlib.contextmanager
def team_stack(folder: Path | None = None) -> Iterator[TeamStack]:
    """Start PostgreSQL, Redis, S3, MLflow and Prefect on loopback; stop them all on exit."""
    owned = folder is None
    root = Path(tempfile.mkdtemp(prefix="mlops-team-")) if folder is None else folder
    (root / "tmp").mkdir(parents=True, exist_ok=True)
    stack = TeamStack(root)
    try:
        stack.start_redis()
        stack.start_s3()
        stack.start_postgres()
        # The two slow starters (30-40 s of imports each) start together.
        mlflow, mlflow_log = stack.spawn_mlflow()
        prefect, prefect_log = stack.spawn_prefect()
        wait_for_http(mlflow, f"{stack.mlflow_url}/health", mlflow_log)
        wait_for_http(prefect, f"{stack.prefect_api_url}/health", prefect_log)
        yield stack
    finally:
        stack.stop_all()
        if owned:
            shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    """``python -m infra.loopback``: the stack until Ctrl-C, with the export lines to use it."""
    import shlex
    import sys

    with team_stack() as stack:
        print("# the team stack is up; in another shell, export these and use make train / make serve:")
        for key, value in stack.environment().items():
            print(f"export {key}={shlex.quote(value)}")
        print(f"# {', '.join(f'{s.name} (pid {s.pid})' for s in stack.servers)}; Ctrl-C stops them all", flush=True)
        stop = {signal.SIGINT, signal.SIGTERM}
        signal.pthread_sigmask(signal.SIG_BLOCK, stop)  # delivered to sigwait, not as an exception
        signal.sigwait(stop)
    print("stopped", file=sys.stderr)


if __name__ == "__main__":
    main()
