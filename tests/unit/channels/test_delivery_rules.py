"""The delivery rules that need no provider: how one message is split into the sends a provider can take, and
the customer-service window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from activities.channels import _sends
from channels.base import ChannelKind, ProviderConfig, ProviderLimits, Template
from storage.channels.service import DeliveryPlan

SMS = ProviderLimits(body_limit=1600, max_media=10, media_size_limit=5 << 20)
WHATSAPP = ProviderLimits(body_limit=4096, max_media=1, media_size_limit=16 << 20, templates=True)
MESSENGER = ProviderLimits(body_limit=2000, max_media=1, media_size_limit=25 << 20, body_with_media=False)


def test_a_text_message_is_one_send():
    assert _sends("hi", [], SMS) == [("hi", [])]


def test_mms_carries_every_attachment_with_the_body():
    assert _sends("look", ["a", "b"], SMS) == [("look", ["a", "b"])]


def test_one_attachment_per_send_with_the_body_on_the_first():
    assert _sends("look", ["a", "b"], WHATSAPP) == [("look", ["a"]), (None, ["b"])]


def test_messenger_sends_text_and_attachments_separately():
    assert _sends("look", ["a", "b"], MESSENGER) == [("look", []), (None, ["a"]), (None, ["b"])]
    assert _sends(None, ["a"], MESSENGER) == [(None, ["a"])]


def _plan(last: datetime | None, template: Template | None = None) -> DeliveryPlan:
    return DeliveryPlan(
        provider_sid="XP" + "0" * 32,
        provider_kind="whatsapp_cloud",
        config=ProviderConfig(api_base_url="http://127.0.0.1"),
        channel=ChannelKind.WHATSAPP,
        to_address="whatsapp:+15550001111",
        from_address="whatsapp:+15550002222",
        body="hello",
        template=template,
        customer_last_wrote=last,
    )


def test_the_customer_service_window():
    now = datetime(2026, 12, 2, 12, tzinfo=UTC)
    day = timedelta(hours=24)
    assert not _plan(now - timedelta(hours=23, minutes=59)).outside_window(day, now)
    assert _plan(now - timedelta(hours=24, seconds=1)).outside_window(day, now)
    assert _plan(None).outside_window(day, now)  # the customer never wrote
    assert not _plan(None, Template(name="order_update")).outside_window(day, now)  # a template may always go
    assert not _plan(None).outside_window(None, now)  # SMS has no window
