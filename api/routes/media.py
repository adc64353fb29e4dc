"""The Media Content Service (`/mcs/v1/Services/{ChatServiceSid}/Media`): upload a file (the raw body, with
its Content-Type; `?Filename=` or a Content-Disposition filename), read its record and download its content.
A message then carries it with `MediaSid`. Token holders may upload and read the media of their own
conversations; account credentials reach everything in the account."""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from api.auth import Role
from api.deps import CurrentPrincipal, DbDep, SettingsDep
from api.query import QueryParam, QueryParameters, QueryValues
from api.schemas.common import iso
from core.keys import keyring
from core.media import MediaStore, link_valid
from domain.errors import NotFound, PermissionDenied
from domain.limits import MEDIA_CONTENT_TYPES, MEDIA_FILENAME_LIMIT, MEDIA_MAX_BYTES
from domain.media import check_kind, check_size, content_type_of
from domain.sids import SidPrefix, new_sid
from storage import crypto
from storage.conversations import media
from storage.conversations import service as conversations
from storage.conversations.tables import MediaRow
from storage.interactions import service as interactions

router = APIRouter(prefix="/mcs/v1/Services/{ChatServiceSid}/Media", tags=["Media"])
ServiceSid = Annotated[str, Path(alias="ChatServiceSid", description="The Conversation Service (`IS…`).")]
_FILENAME = re.compile(r'filename="?([^";]+)"?')
UPLOAD_QUERY = QueryParameters(
    QueryParam.string(
        "Filename",
        f"The file's name (else the Content-Disposition header's): at most {MEDIA_FILENAME_LIMIT} characters, "
        "without `/` or control characters.",
    )
)


def _public(row: MediaRow, base: str) -> dict[str, Any]:
    path = f"/v1/Services/{row.chat_service_sid}/Media/{row.sid}"
    return {
        "sid": row.sid,
        "account_sid": row.account_sid,
        "service_sid": row.chat_service_sid,
        "date_created": iso(row.date_created),
        "date_upload_updated": iso(row.date_updated),
        "date_updated": iso(row.date_updated),
        "links": {"content": f"{path}/Content", "content_direct_temporary": f"{base}/mcs{path}/Content"},
        "size": row.size,
        "content_type": row.content_type,
        "filename": row.filename,
        "author": row.author,
        "category": "media",
        "message_sid": row.message_sid,
        "channel_sid": row.conversation_sid,
        "url": path,
        "is_multipart_upstream": False,
    }


@router.post(
    "",
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The file's bytes, with its Content-Type.",
            "content": {
                kind: {"schema": {"type": "string", "format": "binary"}} for kind in sorted(MEDIA_CONTENT_TYPES)
            },
        }
    },
    responses={415: {"description": "A Content-Type that is not one of those accepted (20415)."}},
)
async def upload_media(
    service_sid: ServiceSid,
    request: Request,
    principal: CurrentPrincipal,
    db: DbDep,
    query: Annotated[QueryValues, Depends(UPLOAD_QUERY)],
    settings: SettingsDep,
) -> dict[str, Any]:
    """Upload one file, at most MEDIA_MAX_BYTES, of an accepted type (415 otherwise)."""
    content_type = content_type_of(request.headers.get("content-type"))
    disposition = _FILENAME.search(request.headers.get("content-disposition", ""))
    filename = query.str("Filename") or (disposition.group(1) if disposition else None)
    check_kind(content_type, filename)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit():
        check_size(int(declared))
    data = bytearray()
    async for chunk in request.stream():
        data.extend(chunk)
        if len(data) > MEDIA_MAX_BYTES:
            check_size(len(data))
    check_size(len(data))
    store: MediaStore = request.app.state.media
    async with db.read() as q:
        await conversations.get_service(q, account_sid=principal.account_sid, sid=service_sid)
        key = await crypto.sealer(q, principal.account_sid)
    sid = new_sid(SidPrefix.MEDIA)
    # The bytes first, then the record: a record never names a file that is not there. Files are sealed
    # under the account's data key like every other customer asset (storage/crypto.py).
    await store.put(sid, key.seal_bytes(bytes(data)))
    try:
        async with db.unit() as uow:
            row = await media.create_media(
                uow,
                sid=sid,
                account_sid=principal.account_sid,
                chat_service_sid=service_sid,
                content_type=content_type,
                filename=filename,
                size=len(data),
                author=principal.identity or "system",
            )
    except BaseException:
        await store.delete(sid)
        raise
    return _public(row, settings.base_url)


async def _readable(db: DbDep, principal: CurrentPrincipal, service_sid: str, sid: str) -> MediaRow:
    async with db.read() as q:
        row = await media.get_media(q, account_sid=principal.account_sid, chat_service_sid=service_sid, sid=sid)
        if principal.is_admin:
            return row
        if principal.role is Role.SUPERVISOR:
            # A supervisor reads the media of conversations routed in its own workspace.
            if (
                principal.workspace_sid
                and row.conversation_sid
                and await interactions.conversation_routed_in(
                    q, conversation_sid=row.conversation_sid, workspace_sid=principal.workspace_sid
                )
            ):
                return row
            raise PermissionDenied("The media's conversation was not routed in the supervisor's workspace")
        if not await media.readable_by(q, media=row, identity=principal.identity, worker_sid=principal.worker_sid):
            raise PermissionDenied("The token's identity may not read this media")
    return row


@router.get("/{sid}")
async def fetch_media(
    service_sid: ServiceSid, sid: str, principal: CurrentPrincipal, db: DbDep, settings: SettingsDep
) -> dict[str, Any]:
    return _public(await _readable(db, principal, service_sid, sid), settings.base_url)


@router.get("/{sid}/Content")
async def download_media(
    service_sid: ServiceSid, sid: str, request: Request, principal: CurrentPrincipal, db: DbDep
) -> Response:
    return await _content(request, await _readable(db, principal, service_sid, sid))


@router.get(
    "/{sid}/Content/Temporary",
    responses={403: {"description": "The link has expired, or its signature is not Parley's."}},
)
async def download_linked_media(
    service_sid: ServiceSid,
    sid: str,
    request: Request,
    db: DbDep,
    expires: Annotated[int, Query(alias="Expires", ge=0, le=2**53)],
    signature: Annotated[str, Query(alias="Signature", max_length=128)],
) -> Response:
    """A file through a temporary link, without credentials (what a channel provider fetches an MMS or WhatsApp
    image from); 403 once the link has expired or for a signature that is not Parley's."""
    if not link_valid(keyring(), media_sid=sid, expires=expires, signature=signature):
        raise PermissionDenied("The link has expired or its signature is not valid")
    async with db.read() as q:
        row = await media.linked_media(q, chat_service_sid=service_sid, sid=sid)
    return await _content(request, row)


async def _content(request: Request, row: MediaRow) -> Response:
    sealed = await request.app.state.media.get(row.sid)
    if sealed is None:
        raise NotFound.resource(f"/Services/{row.chat_service_sid}/Media/{row.sid}/Content")
    data = crypto.data_keys().open_bytes(sealed)
    headers = {"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"}
    if row.filename:
        headers["Content-Disposition"] = _disposition(row.filename)
    return Response(content=data, media_type=row.content_type, headers=headers)


def _disposition(filename: str) -> str:
    """RFC 6266: an ASCII fallback name, and the real one (any script) percent-encoded in `filename*`."""
    fallback = "".join(c if c.isascii() and c not in '"\\' else "_" for c in filename)
    return f"inline; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
