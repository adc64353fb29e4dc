"""Conversations v1 and Flex Interactions v1 resources as Twilio serializes them."""

from __future__ import annotations

from typing import Any

from api.wire import iso

Row = dict[str, Any]


def conversation_url(base: str, sid: str) -> str:
    return f"{base}/conversations/v1/Conversations/{sid}"


def conversation_json(row: Row, base: str) -> dict[str, Any]:
    url = conversation_url(base, row["sid"])
    return {
        "account_sid": row["account_sid"],
        "chat_service_sid": row["chat_service_sid"],
        "messaging_service_sid": row["messaging_service_sid"],
        "sid": row["sid"],
        "friendly_name": row["friendly_name"],
        "unique_name": row["unique_name"],
        "attributes": row["attributes"],
        "state": row["state"],
        "date_created": iso(row["date_created"]),
        "date_updated": iso(row["date_updated"]),
        "timers": {},
        "url": url,
        "links": {
            "participants": f"{url}/Participants",
            "messages": f"{url}/Messages",
            "webhooks": f"{url}/Webhooks",
            "export": f"{url}/Export",
        },
        "bindings": {},
    }


def participant_json(row: Row, base: str) -> dict[str, Any]:
    return {
        "account_sid": row["account_sid"],
        "conversation_sid": row["conversation_sid"],
        "sid": row["sid"],
        "identity": row["identity"],
        "attributes": row["attributes"],
        "messaging_binding": row["messaging_binding"],
        "role_sid": row["role_sid"],
        "date_created": iso(row["date_created"]),
        "date_updated": iso(row["date_updated"]),
        "url": f"{conversation_url(base, row['conversation_sid'])}/Participants/{row['sid']}",
        "last_read_message_index": row["last_read_message_index"],
        "last_read_timestamp": iso(row["last_read_timestamp"]),
    }


def message_json(row: Row, base: str) -> dict[str, Any]:
    url = f"{conversation_url(base, row['conversation_sid'])}/Messages/{row['sid']}"
    return {
        "account_sid": row["account_sid"],
        "conversation_sid": row["conversation_sid"],
        "sid": row["sid"],
        "index": row["index"],
        "author": row["author"],
        "body": row["body"],
        "media": row["media"],
        "attributes": row["attributes"],
        "participant_sid": row["participant_sid"],
        "date_created": iso(row["date_created"]),
        "date_updated": iso(row["date_updated"]),
        "url": url,
        "delivery": None,
        "links": {"delivery_receipts": f"{url}/Receipts", "channel_metadata": f"{url}/ChannelMetadata"},
        "content_sid": None,
    }


def address_json(row: Row, base: str) -> dict[str, Any]:
    return {
        "sid": row["sid"],
        "account_sid": row["account_sid"],
        "type": row["type"],
        "address": row["address"],
        "friendly_name": row["friendly_name"],
        "auto_creation": row["auto_creation"],
        "date_created": iso(row["date_created"]),
        "date_updated": iso(row["date_updated"]),
        "url": f"{base}/conversations/v1/Configuration/Addresses/{row['sid']}",
        "address_country": row["address_country"],
    }


def interaction_json(row: Row, base: str) -> dict[str, Any]:
    url = f"{base}/flex-api/v1/Interactions/{row['sid']}"
    return {
        "sid": row["sid"],
        "channel": row["channel"],
        "routing": row["routing"],
        "url": url,
        "links": {"channels": f"{url}/Channels"},
        "interaction_context_sid": row["interaction_context_sid"],
        "webhook_ttid": row["webhook_ttid"],
    }


def interaction_channel_json(row: Row, base: str) -> dict[str, Any]:
    url = f"{base}/flex-api/v1/Interactions/{row['interaction_sid']}/Channels/{row['sid']}"
    return {
        "sid": row["sid"],
        "interaction_sid": row["interaction_sid"],
        "type": row["type"],
        "status": row["status"],
        "error_code": row["error_code"],
        "error_message": row["error_message"],
        "url": url,
        "links": {
            "participants": f"{url}/Participants",
            "invites": f"{url}/Invites",
            "transfers": f"{url}/Transfers",
        },
        # Parley extensions, handy for the desktop: the conversation and the task currently routed.
        "conversation_sid": row["conversation_sid"],
        "active_task_sid": row["active_task_sid"],
    }


def interaction_participant_json(row: Row, base: str) -> dict[str, Any]:
    return {
        "sid": row["sid"],
        "type": row["type"],
        "interaction_sid": row["interaction_sid"],
        "channel_sid": row["channel_sid"],
        "url": f"{base}/flex-api/v1/Interactions/{row['interaction_sid']}/Channels/{row['channel_sid']}"
        f"/Participants/{row['sid']}",
        "routing_properties": row["routing_properties"],
        "media_properties": row["media_properties"],
        "status": row["status"],
    }
