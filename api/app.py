"""The FastAPI application: a thin layer over Postgres (system of record) and Temporal (lifecycles)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from temporalio.client import Client

from api import docs, errors, throttle
from api.audit import AuditTrail
from api.auth import Authenticator
from api.backpressure import InFlightLimit
from api.body_limit import BodySizeLimit
from api.deps import scoped_service
from api.hardening import InputHardening
from api.observability import Observability
from api.prehooks import PreEvents
from api.realtime import RealtimeHub
from api.routes import (
    audit,
    channel_connections,
    channels,
    codec,
    conversation_identity,
    conversations,
    conversations_account,
    desk,
    flex,
    health,
    media,
    messaging_services,
    metrics,
    outbox,
    realtime,
    sso,
    tokens,
    webchat,
    webchat_settings,
)
from api.routes.taskrouter import (
    activities,
    events,
    reservations,
    statistics,
    task_channels,
    task_queues,
    tasks,
    worker_channels,
    workers,
    workflows,
    workspaces,
)
from core.media import LocalMediaStore
from core.outbox import OutboxDispatcher
from core.settings import Settings, get_settings
from core.temporal import connect
from storage.db import Database

WEB_DIR = Path(__file__).resolve().parent.parent / "web"


def create_app(settings: Settings | None = None, *, temporal: Client | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(
            settings.database_url, max_size=settings.db_pool_size, acquire_timeout=settings.db_acquire_timeout
        )
        await db.open()
        client = temporal or await connect(settings.temporal_address, settings.temporal_namespace)
        dispatcher = OutboxDispatcher(db, client, task_queue=settings.task_queue)
        db.after_commit = dispatcher.after_commit
        hub = RealtimeHub(db, base_url=settings.base_url, presence_grace=settings.presence_grace)
        await hub.start()
        app.state.settings = settings
        app.state.db = db
        app.state.temporal = client
        app.state.dispatcher = dispatcher
        app.state.hub = hub
        app.state.authenticator = Authenticator(db)
        app.state.abuse = throttle.AbuseGuard.of(settings)
        app.state.pre_events = PreEvents(db)
        app.state.media = LocalMediaStore(settings.media_dir)
        try:
            yield
        finally:
            await app.state.pre_events.close()
            await hub.stop()
            await dispatcher.drain()
            await db.close()

    app = FastAPI(
        title="Parley",
        version="0.1.0",
        summary="Self-hosted contact-center conversations: Twilio-compatible Conversations, Interactions "
        "and TaskRouter on Temporal",
        description=docs.DESCRIPTION,
        openapi_tags=docs.OPENAPI_TAGS,
        # FastAPI's own /docs and /redoc load their assets from a CDN; docs.install serves ours.
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    errors.install(app)
    throttle.install(app)
    docs.install(app)
    app.add_middleware(InputHardening)
    app.add_middleware(AuditTrail)
    app.add_middleware(BodySizeLimit)  # an oversized body is refused before anything reads it
    app.add_middleware(InFlightLimit, limit=settings.max_in_flight_requests)  # sheds load first
    # Outermost: the request id, the log context and the HTTP metrics cover every answer, a shed one too.
    app.add_middleware(Observability, metrics_port=settings.metrics_port)
    for module in (
        health,
        metrics,
        tokens,
        sso,
        outbox,
        audit,
        codec,
        webchat,
        webchat_settings,
        channels,
        channel_connections,
        messaging_services,
        conversations_account,
        media,
        desk,
        flex,
        realtime,
        workspaces,
        activities,
        task_channels,
        task_queues,
        workflows,
        workers,
        worker_channels,
        events,
        tasks,
        reservations,
        statistics,
    ):
        app.include_router(module.router)
    # Conversations' service-scoped resources, for the default service and for any of the account's.
    for scoped in (conversations.router, conversation_identity.router):
        app.include_router(scoped, prefix="/conversations/v1")
        app.include_router(
            scoped, prefix="/conversations/v1/Services/{ChatServiceSid}", dependencies=[Depends(scoped_service)]
        )
    app.include_router(conversation_identity.account_router)
    app.mount("/agent", StaticFiles(directory=WEB_DIR / "agent", html=True), name="agent")
    app.mount("/chat", StaticFiles(directory=WEB_DIR / "chat", html=True), name="chat")
    # Code both browser apps use (the realtime client), served once.
    app.mount("/shared", StaticFiles(directory=WEB_DIR / "shared"), name="shared")
    return app
