"""Webhook signing and rules, checked against Twilio's own validator and published test vector."""

from __future__ import annotations

import pytest
from twilio.request_validator import RequestValidator

from domain.errors import InvalidParameter
from domain.webhooks import (
    CONVERSATION_SCOPED_EVENTS,
    POST_EVENTS,
    PRE_EVENTS,
    SYSTEM,
    Actor,
    WebhookEvent,
    check_filters,
    check_triggers,
    signature,
    signature_valid,
    with_query,
)

TOKEN = "12345"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = [
    ("CallSid", "CA1234567890ABCDE"),
    ("Caller", "+14158675309"),
    ("Digits", "1234"),
    ("From", "+14158675309"),
    ("To", "+18005551212"),
]


def test_signature_matches_twilios_published_vector():
    assert signature(TOKEN, URL, PARAMS) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_the_official_validator_accepts_empty_and_unordered_parameters():
    params = [("Zeta", "z"), ("FriendlyName", ""), ("Attributes", "{}"), ("Body", "héllo ✓")]
    signed = signature("secret-token", "http://127.0.0.1:9000/hook", params)
    assert RequestValidator("secret-token").validate("http://127.0.0.1:9000/hook", dict(params), signed)
    assert not RequestValidator("other-token").validate("http://127.0.0.1:9000/hook", dict(params), signed)
    # Dropping the empty parameter changes the signature: it is part of what is signed.
    assert signature("secret-token", "http://127.0.0.1:9000/hook", params[:1] + params[2:]) != signed


def test_repeated_parameters_are_signed_with_their_values_sorted():
    a = signature(TOKEN, URL, [("Filters", "b"), ("Filters", "a")])
    assert a == signature(TOKEN, URL, [("Filters", "a"), ("Filters", "b")])
    assert a == signature(TOKEN, URL + "", [("Filters", "a"), ("Filters", "b"), ("Filters", "a")])


def test_a_get_callback_signs_its_url_with_the_parameters_in_the_query():
    url = with_query("http://example.test/hook?x=1", [("EventType", "onMessageAdded"), ("Body", "a b&c")])
    assert url == "http://example.test/hook?x=1&EventType=onMessageAdded&Body=a+b%26c"
    assert RequestValidator(TOKEN).validate(url, {}, signature(TOKEN, url))


def test_signature_valid_accepts_the_url_with_or_without_its_default_port():
    signed = signature(TOKEN, "https://mycompany.com/myapp.php", PARAMS)
    assert signature_valid(TOKEN, "https://mycompany.com:443/myapp.php", PARAMS, signed)
    assert signature_valid(TOKEN, "https://mycompany.com/myapp.php", PARAMS, signed)
    assert not signature_valid(TOKEN, "https://mycompany.com/other.php", PARAMS, signed)
    assert not signature_valid(TOKEN, "https://mycompany.com/myapp.php", PARAMS[1:], signed)


def test_who_fires_what():
    assert Actor.sdk("pat").fires_pre_events and Actor.sdk("pat").fires_post_events
    assert not Actor.rest(webhook_enabled=False).fires_post_events
    assert Actor.rest(webhook_enabled=True).fires_post_events
    assert not Actor.rest(webhook_enabled=True).fires_pre_events
    assert SYSTEM.fires_post_events and not SYSTEM.fires_pre_events


def test_event_families():
    assert WebhookEvent.MESSAGE_ADD.is_pre and not WebhookEvent.MESSAGE_ADDED.is_pre
    assert PRE_EVENTS.isdisjoint(POST_EVENTS) and PRE_EVENTS | POST_EVENTS == set(WebhookEvent)
    assert CONVERSATION_SCOPED_EVENTS <= POST_EVENTS
    assert WebhookEvent.USER_ADDED not in CONVERSATION_SCOPED_EVENTS


def test_filters_split_dedupe_and_name_the_bad_one():
    assert check_filters(["onMessageAdded, onMessageUpdated", "onMessageAdded"], POST_EVENTS) == [
        "onMessageAdded",
        "onMessageUpdated",
    ]
    with pytest.raises(InvalidParameter) as bad:
        check_filters(["onMessageAdd"], CONVERSATION_SCOPED_EVENTS)
    assert bad.value.code == 50365 and "onMessageAdd" in bad.value.message


def test_trigger_limits():
    assert check_triggers(["a", "b"]) == ["a", "b"]
    with pytest.raises(InvalidParameter) as many:
        check_triggers(list("abcdef"))
    assert many.value.code == 50362
    with pytest.raises(InvalidParameter) as long:
        check_triggers(["x" * 249])
    assert long.value.code == 50366
    with pytest.raises(InvalidParameter):
        check_triggers([" "])
