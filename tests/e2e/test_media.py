"""Message media through the Media Content Service: a web chat customer uploads a picture with its token and
sends it (over the socket), the agent side downloads the same bytes, an admin attaches media through the
official client; wrong types, empty and oversized uploads, reuse and strangers are refused."""

from __future__ import annotations

import httpx
import pytest
from twilio.rest import Client

from domain.limits import MEDIA_MAX_BYTES
from storage.accounts.service import create_account
from tests.support.contact_center import ok, start_webchat
from tests.support.realtime import RealtimeClient

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x1f\x15\xc4\x89" + b"\0" * 40


@pytest.fixture
async def tenant(db):
    async with db.unit() as uow:
        return await create_account(uow, friendly_name="Media")


async def test_upload_send_download_and_the_limits(parley, tenant):
    async with httpx.AsyncClient(
        base_url=parley.base_url, auth=(tenant.account_sid, tenant.auth_token), timeout=30
    ) as admin:
        address = await ok(
            await admin.post(
                "/conversations/v1/Configuration/Addresses",
                data={"Type": "chat", "Address": "media-chat", "AutoCreation.Enabled": "true"},
            ),
            201,
        )
        chat = await start_webchat(parley.base_url, address["sid"], "Noa")
        other = await start_webchat(parley.base_url, address["sid"], "Eve")
        service = (await ok(await admin.get(f"/conversations/v1/Conversations/{chat['conversation_sid']}")))[
            "chat_service_sid"
        ]
        upload = f"/mcs/v1/Services/{service}/Media"
        bearer = {"Authorization": f"Bearer {chat['token']}"}
        async with httpx.AsyncClient(base_url=parley.base_url, timeout=60) as customer:
            created = await ok(
                await customer.post(
                    upload,
                    content=PNG,
                    params={"Filename": "receipt.png"},
                    headers={**bearer, "Content-Type": "image/png"},
                ),
                201,
            )
            assert created["sid"].startswith("ME") and created["size"] == len(PNG)
            assert created["content_type"] == "image/png" and created["author"] == chat["identity"]
            assert created["filename"] == "receipt.png" and created["message_sid"] is None

            refused = await customer.post(
                upload, content=b"MZ...", headers={**bearer, "Content-Type": "application/x-msdownload"}
            )
            assert refused.status_code == 415
            empty = await customer.post(upload, content=b"", headers={**bearer, "Content-Type": "image/png"})
            assert empty.status_code == 400
            huge = await customer.post(
                upload, content=b"\0" * (MEDIA_MAX_BYTES + 1), headers={**bearer, "Content-Type": "image/png"}
            )
            assert huge.status_code == 413

        async with RealtimeClient(parley.base_url, chat["token"]) as socket:
            frame_id = await socket.send(
                {"type": "send_message", "conversation_sid": chat["conversation_sid"], "media_sids": [created["sid"]]}
            )
            ack = await socket.wait_for(lambda f: f.get("id") == frame_id)
            assert ack["type"] == "ack", ack
            [item] = ack["message"]["media"]
            assert item == {
                "sid": created["sid"],
                "category": "media",
                "filename": "receipt.png",
                "content_type": "image/png",
                "size": len(PNG),
            }
            again = await socket.send(
                {"type": "send_message", "conversation_sid": chat["conversation_sid"], "media_sids": [created["sid"]]}
            )
            assert (await socket.wait_for(lambda f: f.get("id") == again))["type"] == "error"

        content = f"{upload}/{created['sid']}/Content"
        downloaded = await admin.get(content)
        assert downloaded.status_code == 200 and downloaded.content == PNG
        assert downloaded.headers["content-type"] == "image/png"
        record = await ok(await admin.get(f"{upload}/{created['sid']}"))
        assert record["message_sid"] == ack["message"]["sid"] and record["channel_sid"] == chat["conversation_sid"]
        async with httpx.AsyncClient(base_url=parley.base_url) as stranger:
            denied = await stranger.get(content, headers={"Authorization": f"Bearer {other['token']}"})
            assert denied.status_code == 403
            mine = await stranger.get(content, headers=bearer)
            assert mine.status_code == 200 and mine.content == PNG

        # Any script in a file name; no control characters (they would reach a response header).
        named = await ok(
            await admin.post(
                upload, content=PNG, params={"Filename": '收据 "1".png'}, headers={"Content-Type": "image/png"}
            ),
            201,
        )
        fetched = await admin.get(f"{upload}/{named['sid']}/Content")
        assert fetched.status_code == 200
        assert "filename*=UTF-8''%E6%94%B6%E6%8D%AE%20%221%22.png" in fetched.headers["content-disposition"]
        injected = await admin.post(
            upload, content=PNG, params={"Filename": "a\r\nSet-Cookie: x=1"}, headers={"Content-Type": "image/png"}
        )
        assert injected.status_code == 400

        # An admin attaches media through the official client's MediaSid.
        second = await ok(await admin.post(upload, content=b"plain words", headers={"Content-Type": "text/plain"}), 201)
    twilio = Client(tenant.account_sid, tenant.auth_token)
    twilio.conversations.base_url = f"{parley.base_url}/conversations"
    message = twilio.conversations.v1.conversations(chat["conversation_sid"]).messages.create(
        media_sid=second["sid"], author="ops"
    )
    assert message.body is None and message.media[0]["sid"] == second["sid"]
