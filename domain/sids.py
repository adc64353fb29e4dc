"""Twilio-format SIDs: two upper-case letters followed by 32 lower-case hex digits."""

from __future__ import annotations

import re
import uuid
from enum import StrEnum


class SidPrefix(StrEnum):
    ACCOUNT = "AC"
    API_KEY = "SK"
    CONVERSATION_SERVICE = "IS"
    CONVERSATION = "CH"
    PARTICIPANT = "MB"
    MESSAGE = "IM"
    RECEIPT = "DY"
    MEDIA = "ME"
    USER = "US"
    ROLE = "RL"
    CREDENTIAL = "CR"
    BINDING = "BS"
    ADDRESS_CONFIGURATION = "IG"
    CONVERSATION_WEBHOOK = "WH"
    INTERACTION = "KD"
    INTERACTION_CHANNEL = "UO"
    INTERACTION_PARTICIPANT = "UT"
    INVITE = "KG"
    TRANSFER = "UX"
    NOTE = "KQ"
    WORKSPACE = "WS"
    ACTIVITY = "WA"
    WORKER = "WK"
    WORKER_CHANNEL = "WC"
    TASK_QUEUE = "WQ"
    WORKFLOW = "WW"
    TASK = "WT"
    RESERVATION = "WR"
    TASK_CHANNEL = "TC"
    EVENT = "EV"
    AUDIT_EVENT = "AE"  # Parley: the audit log
    CHANNEL_PROVIDER = "XP"  # Parley: a connection to a messaging provider
    PHONE_NUMBER = "PN"  # a provider's phone number (SMS, MMS, WhatsApp): a Messaging Service's PhoneNumbers
    CHANNEL_SENDER = "XE"  # a Messenger page: a Messaging Service's ChannelSenders
    MESSAGING_SERVICE = "MG"
    PROVIDER_MESSAGE = "SM"  # a message as the stand-in carrier names it
    PRIVATE_NOTE = "NO"  # Parley: an agents-only note on a conversation
    CANNED_RESPONSE = "CQ"  # Parley: a workspace's saved reply


_SID_RE = re.compile(r"^[A-Z]{2}[0-9a-f]{32}$")


def new_sid(prefix: SidPrefix) -> str:
    return f"{prefix}{uuid.uuid4().hex}"


def sid_from_uuid(prefix: SidPrefix, value: uuid.UUID) -> str:
    """Deterministic SID for ids minted inside workflows (`workflow.uuid4()`), so retries reuse them."""
    return f"{prefix}{value.hex}"


def is_sid(value: str, prefix: SidPrefix | None = None) -> bool:
    if not _SID_RE.match(value):
        return False
    return prefix is None or value.startswith(prefix)
