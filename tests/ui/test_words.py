"""Times, greetings and the status line in words."""

import datetime as dt

import pytest

from hub.ui import i18n, words

TZ = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2025, 11, 25, 9, 41, tzinfo=TZ)  # a Tuesday morning


@pytest.fixture(autouse=True)
def english():
    i18n.set_language("en")
    yield
    i18n.set_language("en")


def at(days_ago=0, hour=8, minute=5):
    return (NOW - dt.timedelta(days=days_ago)).replace(hour=hour, minute=minute)


def test_time_in_words(monkeypatch):
    monkeypatch.setattr(words, "local", lambda m: m.astimezone(TZ))
    assert words.when_words(at(0, 8, 5), NOW) == "this morning, 8:05"
    assert words.when_words(at(1, 19, 30), NOW) == "yesterday evening, 19:30"
    assert words.when_words(at(1, 2, 0), NOW) == "last night, 2:00"
    assert words.when_words(at(3), NOW) == "Saturday, 8:05"
    assert words.when_words(at(30), NOW) == "26 October, 8:05"
    assert words.when_words(NOW - dt.timedelta(seconds=30), NOW) == "just now"
    i18n.set_language("zh_CN")
    assert words.when_words(at(0, 8, 5), NOW) == "今天上午 8:05"
    i18n.set_language("ko")
    assert words.when_words(at(1, 19, 30), NOW) == "어제 저녁 19:30"


def test_clock_date_and_greeting():
    assert words.clock_text(NOW) == "9:41"
    assert words.date_text(NOW) == "Tuesday, 25 November"
    assert words.greeting(NOW, "Mary") == "Good morning, Mary"
    assert words.greeting(NOW.replace(hour=20), "") == "Good evening"
    i18n.set_language("zh_CN")
    assert words.date_text(NOW) == "11月25日 星期二"
    assert words.greeting(NOW, "李秀英") == "李秀英，早上好"
    i18n.set_language("ko")
    assert words.date_text(NOW) == "11월 25일 화요일"


def test_status_line():
    assert words.status_line({"state": "ok"}, 0, True) == "Connected — all sent"
    assert words.status_line({"state": "offline"}, 12, True) == \
        "No internet — 12 items waiting, SOS still works"
    assert words.status_line({"state": "offline"}, 1, True) == \
        "No internet — 1 item waiting, SOS still works"
    assert words.status_line({"state": "ok"}, 3, False) == "Starting — please wait"
    assert "Setup" in words.status_line({"state": "not_configured"}, 0, True)


def test_sentences_join_like_the_language():
    assert words.sentences("One.", "Two.") == "One. Two."
    i18n.set_language("zh_CN")
    assert words.sentences("一。", "二。") == "一。二。"
