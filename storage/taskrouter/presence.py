"""Agent presence: an agent whose desktop disappeared (tab closed, laptop asleep, network gone, the api process
holding its socket crashed) without signing out is noticed and let go, so no customer waits on someone who is
not there and no new chat is offered to them.

Every api process refreshes `last_seen` for the workers whose sockets it holds (PRESENCE_HEARTBEAT); the
outbox sweeper releases those unseen for longer than the grace period: they move to the workspace's offline
activity and their conversations go back to the queue (routing.set_worker_activity with
releases_conversations). A desktop that reconnects within the grace period (a reload) loses nothing."""

from __future__ import annotations

from storage.db import UnitOfWork
from storage.interactions import service as interactions
from storage.taskrouter.routing import set_worker_activity
from storage.taskrouter.tables import WorkerRow


async def seen(uow: UnitOfWork, *, worker_sids: list[str]) -> None:
    """These workers' desktops are connected now."""
    if not worker_sids:
        return
    await uow.execute(
        "INSERT INTO agent_presence (worker_sid, workspace_sid, last_seen) "
        "SELECT sid, workspace_sid, now() FROM workers WHERE sid = ANY(%s) "
        "ON CONFLICT (worker_sid) DO UPDATE SET last_seen = now()",
        (worker_sids,),
    )


async def release_absent(uow: UnitOfWork, *, grace_seconds: float) -> list[str]:
    """Let go of every agent unseen for `grace_seconds`: offline, conversations re-queued. Returns their SIDs."""
    released = []
    for row in await uow.fetchall(
        "DELETE FROM agent_presence WHERE worker_sid IN (SELECT worker_sid FROM agent_presence "
        "WHERE last_seen < now() - make_interval(secs => %s) FOR UPDATE SKIP LOCKED) RETURNING worker_sid",
        (grace_seconds,),
    ):
        worker = await uow.one(WorkerRow, "SELECT * FROM workers WHERE sid = %s", (row["worker_sid"],))
        offline = await uow.fetchone(
            "SELECT timeout_activity_sid FROM workspaces WHERE sid = %s", ((worker.workspace_sid if worker else ""),)
        )
        offline_sid = (offline or {}).get("timeout_activity_sid")
        if worker is None or not offline_sid:
            continue
        holding = await uow.fetchone(
            "SELECT 1 FROM reservations WHERE worker_sid = %s AND reservation_status IN ('pending', 'accepted') "
            "LIMIT 1",
            (worker.sid,),
        )
        if not worker.available and holding is None:
            continue
        if worker.activity_sid == offline_sid:
            # Already offline (an offer timed out, say) but still holding chats: only those need letting go.
            await interactions.release_worker_conversations(uow, worker_sid=worker.sid)
        else:
            await set_worker_activity(
                uow,
                worker=worker,
                activity_sid=offline_sid,
                reject_pending=True,
                releases_conversations=True,
            )
        released.append(worker.sid)
    return released
