"""domain/webchat.py: when an address is open (its local time, across daylight-saving changes, closed dates,
several windows a day) and when it next opens; what a pre-chat form accepts."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from domain.errors import InvalidParameter
from domain.webchat import BusinessHours, FieldType, OpeningHours, PreChatField, WebChatSettings, check_first_message

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def berlin(**extra) -> BusinessHours:
    return BusinessHours.model_validate(
        {
            "time_zone": "Europe/Berlin",
            "hours": [
                {"days": WEEKDAYS, "open": "09:00", "close": "12:00"},
                {"days": WEEKDAYS, "open": "13:00", "close": "17:30"},
                {"days": ["sat"], "open": "10:00", "close": "14:00"},
            ],
            **extra,
        }
    )


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("at", "open_"),
    [
        (utc(2026, 12, 7, 7, 59), False),  # Monday 08:59 in Berlin (UTC+1 in winter)
        (utc(2026, 12, 7, 8, 0), True),  # 09:00 sharp: open
        (utc(2026, 12, 7, 10, 59), True),
        (utc(2026, 12, 7, 11, 0), False),  # 12:00: the lunch break (close is exclusive)
        (utc(2026, 12, 7, 12, 0), True),  # 13:00
        (utc(2026, 12, 7, 16, 29), True),
        (utc(2026, 12, 7, 16, 30), False),  # 17:30
        (utc(2026, 12, 12, 9, 0), True),  # Saturday 10:00
        (utc(2026, 12, 13, 10, 0), False),  # Sunday
        (utc(2026, 7, 6, 7, 0), True),  # Monday 09:00 in summer (UTC+2)
        (utc(2026, 7, 6, 6, 59), False),
    ],
)
def test_open_follows_the_address_local_time(at: datetime, open_: bool) -> None:
    assert berlin().is_open(at) is open_


def test_closed_dates_close_a_whole_local_day() -> None:
    hours = berlin(closed_dates=["2026-12-24"])
    assert not hours.is_open(utc(2026, 12, 24, 9, 0))  # Thursday, would be open
    assert hours.is_open(utc(2026, 12, 23, 9, 0))
    # Christmas Eve is closed, the 25th is a Friday: it opens then at 09:00 local.
    assert hours.next_opening(utc(2026, 12, 23, 17, 0)) == datetime(
        2026, 12, 25, 9, 0, tzinfo=hours.next_opening(utc(2026, 12, 23, 17, 0)).tzinfo
    )


def test_next_opening_is_the_next_window_start_in_local_time() -> None:
    hours = berlin()
    assert hours.next_opening(utc(2026, 12, 7, 9, 0)) is None  # open now
    lunch = hours.next_opening(utc(2026, 12, 7, 11, 30))
    assert lunch is not None and lunch.astimezone(UTC) == utc(2026, 12, 7, 12, 0)
    weekend = hours.next_opening(utc(2026, 12, 12, 14, 0))  # Saturday after closing: Monday 09:00
    assert weekend is not None and weekend.astimezone(UTC) == utc(2026, 12, 14, 8, 0)
    # Across the spring change (29 March 2026): Monday 30 March 09:00 is 07:00 UTC.
    spring = hours.next_opening(utc(2026, 3, 28, 20, 0))
    assert spring is not None and spring.astimezone(UTC) == utc(2026, 3, 30, 7, 0)


def test_an_address_closed_for_longer_than_the_lookahead_has_no_next_opening() -> None:
    days = [date(2027, 1, 1).fromordinal(date(2027, 1, 1).toordinal() + i) for i in range(40)]
    hours = BusinessHours(
        time_zone="UTC", hours=[OpeningHours(days=["mon"], open=time(9), close=time(10))], closed_dates=days
    )
    assert hours.next_opening(utc(2027, 1, 1, 0, 0)) is None


@pytest.mark.parametrize(
    "bad",
    [
        {"time_zone": "Nowhere/City", "hours": [{"days": ["mon"], "open": "09:00", "close": "10:00"}]},
        {"time_zone": "UTC", "hours": [{"days": ["mon"], "open": "10:00", "close": "10:00"}]},
        {"time_zone": "UTC", "hours": [{"days": [], "open": "09:00", "close": "10:00"}]},
        {"time_zone": "UTC", "hours": [{"days": ["monday"], "open": "09:00", "close": "10:00"}]},
        {"time_zone": "UTC", "hours": []},
    ],
)
def test_business_hours_that_cannot_mean_anything_are_refused(bad) -> None:
    with pytest.raises(ValueError):
        BusinessHours.model_validate(bad)


def test_a_field_checks_its_value() -> None:
    email = PreChatField(name="email", label="Email", type=FieldType.EMAIL, required=True)
    assert email.checked(" ann@example.com ") == "ann@example.com"
    for bad in (None, "", "   ", "ann", "ann@", 42):
        with pytest.raises(InvalidParameter):
            email.checked(bad)
    optional = PreChatField(name="note", label="Note", max_length=5)
    assert optional.checked(None) is None and optional.checked("") is None
    assert optional.checked("12345") == "12345"
    with pytest.raises(InvalidParameter, match="at most 5"):
        optional.checked("123456")
    tel = PreChatField(name="phone", label="Phone", type=FieldType.TEL)
    assert tel.checked("+49 (30) 123-456") == "+49 (30) 123-456"
    with pytest.raises(InvalidParameter):
        tel.checked("call me")


def test_without_a_configured_form_pre_engagement_data_is_free_but_offline_needs_an_email() -> None:
    settings = WebChatSettings()
    assert settings.checked_pre_engagement({"anything": 1}, offline=False, known={}) == {"anything": 1}
    assert settings.checked_pre_engagement(None, offline=False, known={"name": "Ann"}) == {"name": "Ann"}
    with pytest.raises(InvalidParameter):
        settings.checked_pre_engagement({}, offline=True, known={})
    assert settings.checked_pre_engagement({}, offline=True, known={"email": "a@b.co"})["email"] == "a@b.co"
    with pytest.raises(InvalidParameter, match="JSON object"):
        settings.checked_pre_engagement(["a"], offline=False, known={})


def test_the_offline_form_makes_the_form_email_required_or_adds_one() -> None:
    own = WebChatSettings(pre_chat_form=[PreChatField(name="email", label="Work email", type=FieldType.EMAIL)])
    assert [(f.label, f.required) for f in own.offline_fields()] == [("Work email", True)]
    assert own.checked_pre_engagement({}, offline=False, known={}) == {}
    with pytest.raises(InvalidParameter, match="Work email is required"):
        own.checked_pre_engagement({}, offline=True, known={})
    added = WebChatSettings(pre_chat_form=[PreChatField(name="name", label="Name")])
    assert [f.name for f in added.offline_fields()] == ["name", "email"]


def test_known_values_fill_the_fields_they_cover() -> None:
    settings = WebChatSettings(pre_chat_form=[PreChatField(name="name", label="Name", required=True)])
    assert settings.checked_pre_engagement({}, offline=False, known={"name": "Verified"}) == {"name": "Verified"}
    assert settings.checked_pre_engagement({"name": "Typed"}, offline=False, known={"name": "Verified"}) == {
        "name": "Verified"
    }


def test_the_first_message_is_required_only_offline() -> None:
    assert check_first_message(None, offline=False) is None
    assert check_first_message("  hi  ", offline=False) == "hi"
    with pytest.raises(InvalidParameter):
        check_first_message("  ", offline=True)
    with pytest.raises(InvalidParameter):
        check_first_message("x" * 1601, offline=False)
