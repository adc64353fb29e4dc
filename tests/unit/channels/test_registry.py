"""Parley's own adapters are found the way a third party's would be: through the `parley.channels` entry points
declared in pyproject.toml (installed with `pip install -e .`)."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

from channels import registry
from channels.base import ChannelAdapter, ChannelKind
from channels.messenger import Messenger
from channels.twilio import TwilioMessaging
from channels.whatsapp import WhatsAppCloud

OURS = {"twilio": TwilioMessaging, "whatsapp_cloud": WhatsAppCloud, "messenger": Messenger}


def test_the_entry_points_are_installed() -> None:
    declared = {p.name: p.value for p in entry_points(group=registry.ENTRY_POINT_GROUP)}
    assert (
        declared.items()
        >= {
            "twilio": "channels.twilio:TwilioMessaging",
            "whatsapp_cloud": "channels.whatsapp:WhatsAppCloud",
            "messenger": "channels.messenger:Messenger",
        }.items()
    )


def test_adapters_finds_parleys_three() -> None:
    found = registry.adapters()
    for name, cls in OURS.items():
        assert type(found[name]) is cls
        assert found[name].name == name  # the entry point's name is the adapter's kind
    assert registry.adapters() is found  # loaded once


@pytest.mark.parametrize("name", OURS)
def test_adapter_by_kind(name: str) -> None:
    adapter = registry.adapter(name)
    assert isinstance(adapter, ChannelAdapter)
    assert adapter.default_api_base_url.startswith("https://")
    for channel in adapter.channels:
        assert adapter.limits(channel).body_limit > 0


def test_the_channels_each_adapter_carries() -> None:
    assert TwilioMessaging.channels == {ChannelKind.SMS, ChannelKind.WHATSAPP}
    assert WhatsAppCloud.channels == {ChannelKind.WHATSAPP}
    assert Messenger.channels == {ChannelKind.MESSENGER}


def test_an_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(registry.UnknownProvider, match="acme_sms") as caught:
        registry.adapter("acme_sms")
    assert all(name in str(caught.value) for name in OURS)
