"""What the independent walk of the kiosk at 800×480 found (issue 12), each checked on the
real app under Xvfb: the caption, the PIN lockout, paging, the keyboard, "Ask me later"."""

import time

import pytest

from hub.ui.audit import audit_screen
from hub.ui.kiosk_state import KioskState

pytestmark = pytest.mark.slow


@pytest.fixture
def kiosk(kiosk):
    """The session's app without a core: the screens themselves, no "Starting…"."""
    app = kiosk.app
    was = app._connect
    app._connect = False
    app.route()
    kiosk.pump()
    yield kiosk
    app._connect = was


def _key(kiosk, widget):
    """Press a keyboard key (its repeat guard is 0.15 s)."""
    kiosk.tap(widget)
    kiosk.pump(0.2)


def test_the_speech_caption_takes_its_own_line_and_never_covers_the_screen(kiosk):
    app = kiosk.app
    app.sos = {"state": "raised", "alarm_id": "a1", "escalated": False}
    app.route()
    kiosk.pump(0.2)
    screen = kiosk.screen
    top_before = screen.top
    app.show_caption("The hub is sending your alarm to the care centre. " * 4)
    kiosk.pump(0.3)
    bar = app.root.ids.caption
    assert bar.opacity == 1 and app.caption
    assert bar.height < 2 * app.fs_body * 1.5              # one line, not 155 px
    assert screen.top <= bar.y + 1 < top_before            # the screen gave up that line
    heading = kiosk.find("Calling for help…")
    assert heading.to_window(*heading.pos)[1] + heading.height <= bar.y + 1
    assert audit_screen(screen, extra=[bar]) == []
    first = app.caption
    kiosk.pump(max(2.6, len(first) / 12.0 + 0.9))       # follows the speech, line by line
    assert app.caption and app.caption != first
    app.sos = {"state": "idle"}
    app._caption_lines = []
    app.caption = ""
    app.route()


def _type(kiosk, kb, char):
    """Turn the keyboard's pages until ``char`` is on a key, then press it."""
    for _ in range(8):
        if char in kb.keys:
            break
        _key(kiosk, kb.ids.next)
    _key(kiosk, kiosk.find(char))


def test_pin_warns_then_locks_clears_the_entry_and_the_lock_survives_a_restart(kiosk):
    app = kiosk.app
    app.kiosk_state.set("pin_wrong_tries", 0)
    app.kiosk_state.set("pin_locked_until", 0)
    app.open_setup()
    kiosk.pump()
    for attempt in range(5):
        for digit in "1111":
            kiosk.tap_text(digit)
        kiosk.tap(kiosk.screen.ids.ok)
        if attempt == 2:
            assert "2 tries left" in kiosk.texts()
        if attempt == 3:
            assert "1 try left" in kiosk.texts()
    screen = kiosk.screen
    assert screen.locked and screen.entered == ""
    assert "Wait 30 seconds" in kiosk.texts()
    kiosk.tap_text("5")                                    # keys do nothing while locked
    assert screen.entered == ""
    assert audit_screen(screen) == []                      # dots and words stay in their box
    # A new kiosk process reads the same state file: still locked.
    app.kiosk_state = KioskState(app.kiosk_state.path)
    app.home()
    app.open_setup()
    kiosk.pump()
    assert kiosk.screen.locked and "Too many wrong tries" in kiosk.texts()
    app.kiosk_state.set("pin_locked_until", time.time() - 1)   # the wait is over
    kiosk.pump(0.6)
    assert not kiosk.screen.locked and "try again now" in kiosk.texts()
    app.home()


def test_my_health_opens_on_its_first_page_with_the_reading_that_needs_a_doctor_first(kiosk):
    from hub.ui.stage import _latest

    app = kiosk.app
    latest = _latest()
    latest["spo2"]["values"]["spo2"] = 86                 # "Very low — call your doctor"
    app.go("health")
    screen = kiosk.screen
    screen.set_latest(latest)
    kiosk.pump()
    assert screen.kinds()[0] == "spo2"
    assert "call your doctor" in kiosk.texts().lower()
    kiosk.tap_text("Next")
    assert screen.page == 1
    app.go("health_detail")                                # look at a chart, come back:
    kiosk.pump()
    app.back()
    kiosk.pump()
    assert kiosk.screen is screen and screen.page == 0     # the first page again
    assert "call your doctor" in kiosk.texts().lower()
    app.home()


def test_a_long_message_pages_with_previous_and_next_and_never_wraps_round(kiosk):
    app = kiosk.app
    words = " ".join(f"Sentence number {i} of a long letter from the family." for i in range(30))
    screen = app.screen("message")
    screen.msg = {"id": "m", "kind": "message", "payload": {"from": "Anna", "text": words}}
    app.go("message")
    kiosk.pump(0.2)
    pages = len(screen.pages)
    assert pages >= 3
    assert f"(page 1 of {pages})" in kiosk.texts()
    assert "Previous" not in kiosk.texts()
    for _ in range(pages - 1):
        kiosk.tap_text("Next")
        kiosk.pump(0.65)  # a second press within 0.6 s is a tremor and is ignored
    assert screen.page == pages - 1 and f"(page {pages} of {pages})" in kiosk.texts()
    assert "Next" not in [w.text for w in screen.walk() if getattr(w, "opacity", 1)
                          and w.width > 1 and hasattr(w, "text")]
    kiosk.tap_text("Previous")
    assert screen.page == pages - 2
    app.home()


def test_the_family_types_a_korean_and_a_chinese_name_on_the_large_keyboard(kiosk):
    app = kiosk.app
    app.set_language("ko")
    app.go("setup_name")
    kiosk.pump()
    kiosk.tap(kiosk.screen.ids.name)
    assert app.sm.current == "text_entry"
    kb = kiosk.screen
    assert kb.mode == "hangul"
    for jamo in "ㄱㅣㅁ":
        _type(kiosk, kb, jamo)
    assert kb.value() == "김" and kb.shown == "김"
    for _ in range(3):                                     # take it back out
        _key(kiosk, kb.ids.delete)
    assert kb.value() == ""
    while kb.mode != "pinyin":                             # 한글 → ABC → 拼音
        _key(kiosk, kb.ids.mode)
    for letter in "li":
        _type(kiosk, kb, letter)
    assert kb.shown == "[li]"
    _key(kiosk, kb.ids.space)                              # 选字: choose a character
    assert kb.choosing and kb.keys[0] == "李"
    _key(kiosk, kiosk.find("李"))
    _key(kiosk, kb.ids.save)
    assert app.sm.current == "setup_name" and kiosk.screen.value.startswith("李")
    app.set_language("en")
    app.home()


def test_every_key_of_the_keyboard_is_a_big_target_with_a_big_word(kiosk):
    from hub.ui import theme

    app = kiosk.app
    app.screen("text_entry").edit("Name", "", "name", None)
    app.go("text_entry")
    kiosk.pump()
    keys = [w for w in kiosk.screen.walk() if w.__class__.__name__ in ("CharKey", "BigButton",
                                                                        "BarButton")
            and w.opacity]
    assert len(keys) >= 12
    for key in keys:
        assert key.width >= theme.MIN_TOUCH_PX and key.height >= theme.MIN_TOUCH_PX, key.text
        assert key.font_size >= theme.MIN_BUTTON_LABEL_PX
    assert audit_screen(kiosk.screen) == []
    kb = kiosk.screen
    for _ in range(2):                                     # 拼音 and 한글 on an English screen:
        _key(kiosk, kb.ids.mode)                           # their own faces, no empty boxes
        assert audit_screen(kiosk.screen) == [], kb.mode
    kiosk.tap_text("Back")                                 # Back is never hidden
    app.home()


def test_ask_me_later_puts_the_question_away_without_answering_it(kiosk):
    app = kiosk.app
    app.on_core_push("prompt", {"id": "p9", "kind": "inactivity", "open": True,
                                "question": "Are you all right?", "answers": ["yes", "no"]})
    kiosk.pump()
    assert app.sm.current == "prompt"
    kiosk.tap(kiosk.screen.ids.later)
    assert app.sm.current == "home" and app.prompt is None
    assert "p9" in app.open_prompts                        # the core still waits for it
    assert "ask again later" in app.notice
    app.on_core_push("prompt", {"id": "p9", "open": False})
    assert "p9" not in app.open_prompts


def test_search_again_shows_that_it_is_searching(live):
    kiosk, core, client = live
    kiosk.app.go("setup_scan")
    kiosk.pump()
    screen = kiosk.screen
    assert screen.scanning and "Searching…" in kiosk.texts()
    kiosk.wait_until(lambda: not screen.scanning, 10, "the search to end")
    assert "Search again" in kiosk.texts()
    kiosk.tap_text("Search again")
    assert "Searching…" in kiosk.texts()                   # visible at once, every press
