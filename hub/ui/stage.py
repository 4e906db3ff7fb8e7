"""Every screen of the kiosk with believable content, without a core: for screenshots and
the accessibility check.

:data:`SCENES` names each scene; :func:`stage` puts a running :class:`~hub.ui.app.KioskApp`
(built with ``connect=False``) into it, feeding the same entry points the core's pushes
and answers use (``on_core_push``, ``set_latest``…). The clock is fixed
(:data:`NOW`), so pictures are the same on every run.
"""

import datetime as dt
import time

from hub.ui.care_stage import CARE_SCENES, stage_care
from hub.ui.i18n import LANGUAGES, _

__all__ = ["SCENES", "NOW", "stage", "sample_name"]

#: The wall clock in every staged scene: a Tuesday morning.
NOW = dt.datetime(2025, 11, 25, 9, 41).astimezone()

SCENES = [
    "starting", "starting_slow", "home", "sos_countdown", "sos_test", "sos_calling",
    "sos_not_received",
    "sos_received", "sos_coming", "sos_confirm_safe", "health", "health_detail", "messages",
    "message", "prompt", "pin", "pin_device", "pin_warning", "pin_locked", "setup", "setup_more", "setup_language", "setup_text",
    "setup_sound", "setup_name", "setup_devices", "setup_scan", "setup_forget", "setup_wifi",
    "setup_wifi_join", "setup_enroll", "setup_test", "diagnostics", "diagnostics_details", "keyboard", "keyboard_url",
]

SCENES += CARE_SCENES  # issue 10's screens: hub/ui/care_stage.py

_NAMES = {"en": "Mary", "zh_CN": "李秀英", "ko": "김영희"}
_RESPONDERS = {"en": "Li Wei from the service centre", "zh_CN": "服务中心的李伟",
               "ko": "돌봄센터 이민준"}
_MESSAGES = {
    "en": [("Anna", "Hello Mum! We will come on Sunday for lunch with the children. "
                    "Tom wants to show you his new drawing. Love, Anna"),
           ("Dr Chen", "Please remember to measure your blood pressure every morning "
                       "before breakfast this week, and bring the hub's report on Friday.")],
    "zh_CN": [("安娜", "妈妈好！我们星期天带孩子们来吃午饭。小明想给您看他的新画。爱您的安娜"),
              ("陈医生", "这周请每天早饭前量一次血压，星期五复诊时带上记录。")],
    "ko": [("안나", "엄마, 안녕하세요! 일요일에 아이들과 점심 먹으러 갈게요. "
                    "민수가 새 그림을 보여 드리고 싶대요. 사랑해요, 안나"),
           ("김 의사", "이번 주에는 매일 아침 식사 전에 혈압을 재 주시고, "
                       "금요일에 기록을 가져와 주세요.")],
}


def sample_name(lang: str) -> str:
    """The elder's name in the pictures, in the language's script."""
    return _NAMES.get(lang, _NAMES["en"])


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _readings() -> list[dict]:
    out = []
    for day in range(7):
        for hour, bump in ((8, 0), (19, -6)):
            t = (NOW - dt.timedelta(days=day)).replace(hour=hour, minute=5)
            if t > NOW:
                continue
            sys_ = 128 + (day * 7) % 15 + bump + (10 if day == 0 else 0)
            out.append({"id": f"bp-{day}-{hour}", "kind": "blood_pressure",
                        "measured_at": _utc(t),
                        "values": {"systolic": sys_,
                                   "diastolic": 80 + (day * 3) % 8 + bump // 3 + (6 if day == 0
                                                                                  else 0),
                                   "pulse": 70 + day % 5},
                        "units": {"systolic": "mm[Hg]", "diastolic": "mm[Hg]",
                                  "pulse": "/min"}})
    return sorted(out, key=lambda r: r["measured_at"])


def _latest() -> dict:
    bp = _readings()[-1]
    t = NOW.replace(hour=8, minute=5)
    return {
        "blood_pressure": bp,
        "heart_rate": {"id": "hr", "kind": "heart_rate", "measured_at": _utc(t),
                       "values": {"heart_rate": 72}, "units": {"heart_rate": "/min"}},
        "spo2": {"id": "o2", "kind": "spo2", "measured_at": _utc(t),
                 "values": {"spo2": 97}, "units": {"spo2": "%"}},
        "body_temperature": {"id": "t", "kind": "body_temperature",
                             "measured_at": _utc(NOW - dt.timedelta(days=1, hours=-10)),
                             "values": {"temperature": 36.7}, "units": {"temperature": "Cel"}},
        "body_weight": {"id": "w", "kind": "body_weight",
                        "measured_at": _utc(NOW - dt.timedelta(days=3)),
                        "values": {"weight": 64.5}, "units": {"weight": "kg"}},
    }


def _inbox(lang: str) -> list[dict]:
    msgs = _MESSAGES.get(lang, _MESSAGES["en"])
    return [
        {"id": "m1", "kind": "message", "received_at": _utc(NOW - dt.timedelta(minutes=50)),
         "payload": {"from": msgs[0][0], "text": msgs[0][1]}, "read_at": None},
        {"id": "m2", "kind": "message", "received_at": _utc(NOW - dt.timedelta(days=1, hours=2)),
         "payload": {"from": msgs[1][0], "text": msgs[1][1]}, "read_at": _utc(NOW)},
    ]


def _sos(state: str, **extra) -> dict:
    snap = {"state": state, "alarm_id": "a1", "source": "touch", "test": False, "presses": 1,
            "created_at": _utc(NOW - dt.timedelta(minutes=3)),
            "raised_at": _utc(NOW - dt.timedelta(minutes=2)), "delivered_at": None,
            "acknowledged_at": None, "responder": None, "escalated": False,
            "seconds_left": None}
    snap.update(extra)
    return snap


def stage(app, scene: str, lang: str) -> str:
    """Put ``app`` into ``scene`` in ``lang``; returns the name of the screen shown."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}")
    app.now = lambda: NOW
    app.set_language(lang)
    app.elder_name = sample_name(lang)
    app.settings.update({"language": lang, "volume": 0.8, "speech_rate": 140})
    app.prompt = None
    app.notice = ""
    app.caption = ""
    app.dimmed = False
    app.confirming_safe = False
    app.sos_pending = False
    app.on_core_push("sos", {"state": "idle", "alarm_id": None, "last": None})
    app.sync = {"state": "ok", "message": ""}
    app.waiting = 0
    app.unread = 1
    app.history = ["home"]
    app.nav = "home"
    app._tick(0)
    screen = scene

    if scene in CARE_SCENES:
        return stage_care(app, scene, lang)
    if scene == "starting_slow":
        screen = "starting"
    elif scene.startswith("keyboard"):
        screen = "text_entry"
    elif scene == "diagnostics_details":
        screen = "diagnostics"
    elif scene in ("pin_device", "pin_warning", "pin_locked"):
        screen = "pin"
    if scene == "sos_countdown" or scene == "sos_test":
        app.on_core_push("sos", _sos("countdown", seconds_left=7.0, test=scene == "sos_test",
                                     raised_at=None))
        screen = "sos_countdown"
    elif scene == "sos_calling":
        app.on_core_push("sos", _sos("raised"))
    elif scene == "sos_not_received":
        app.on_core_push("sos", _sos("raised", escalated=True))
        screen = "sos_calling"
    elif scene == "sos_received":
        app.on_core_push("sos", _sos("delivered", delivered_at=_utc(NOW)))
    elif scene == "sos_coming":
        app.on_core_push("sos", _sos("acknowledged", delivered_at=_utc(NOW),
                                     acknowledged_at=_utc(NOW - dt.timedelta(minutes=1)),
                                     responder=_RESPONDERS.get(lang, _RESPONDERS["en"])))
    elif scene == "sos_confirm_safe":
        app.on_core_push("sos", _sos("acknowledged", responder=_RESPONDERS.get(lang)))
        app.ask_safe()
    elif scene == "prompt":
        from hub.phrases import phrase

        app.on_core_push("prompt", {"id": "p1", "kind": "inactivity", "open": True,
                                    "question": phrase("inactivity_question", lang),
                                    "answers": ["yes", "no"]})
    elif scene == "home":
        app.sync = {"state": "offline", "message": ""}
        app.waiting = 12
    if screen.startswith("sos") or scene == "prompt":
        app.sm.current = screen
        app.sm.current_screen.refresh()
        return screen

    app.sm.current = screen
    s = app.sm.current_screen
    if scene in ("starting", "starting_slow"):
        app.core_away_since = time.monotonic() - (1000 if scene == "starting_slow" else 0)
        s._check()
    elif scene == "health":
        s.page = 0
        s.set_latest(_latest())
    elif scene == "health_detail":
        s.kind = "blood_pressure"
        s.days = 7
        s.reading = _readings()[-1]
        s.set_readings(_readings())
    elif scene == "messages":
        s.page = 0
        s.set_messages(_inbox(lang))
    elif scene == "message":
        s.msg = _inbox(lang)[0]
    elif scene in ("pin", "pin_warning", "pin_locked"):
        app.kiosk_state.set("pin_wrong_tries", 0)
        app.kiosk_state.set("pin_locked_until", 0)
        s.ask_setup_pin()
        s._update_lock()
        if scene == "pin_warning":  # three wrong PINs: "2 tries left"
            app.kiosk_state.set("pin_wrong_tries", 2)
            s.entered = "1111"
            s.submit()
        elif scene == "pin_locked":  # the fifth wrong PIN: locked, counting down
            app.kiosk_state.set("pin_wrong_tries", 4)
            s.entered = "12345678"
            s.submit()
        else:
            s.entered = "12"
    elif scene == "pin_device":
        s.ask_passkey("A4:C1:38:00:11:22")
        s.entered = "4071"
    elif scene == "setup_name":
        s.value = sample_name(lang)
    elif scene == "keyboard":  # the name, half typed, in the language's own way of typing
        s.edit(_("Name"), "", "name", None)
        if lang == "zh_CN":   # 李 chosen, "xiu" typed, choosing among its characters
            s.text, s.pending = "李", "xiu"
            s.choose()
        elif lang == "ko":    # 김영 and ㅎ typed: the consonant page gave way to the vowels
            s.text, s.pending, s.page = "김영", "ㅎ", 2
            s.update_keys()
        else:
            s.text = "Mar"
            s.update_keys()
    elif scene == "keyboard_url":  # the care centre's address, on the digits page
        s.edit(_("Address, e.g. https://care.example.org"), "https://care.example.org/", "url",
               None)
        s.page = 4
        s.update_keys()
    elif scene == "setup_devices":
        s.set_devices({"devices": [
            {"address": "A4:C1:38:00:11:22", "kind": "blood_pressure",
             "name": "Blood pressure monitor A&D UA-651BLE"},
            {"address": "D0:3E:7D:00:33:44", "kind": "scale", "name": "Weight scale MIBFS"}]})
    elif scene == "setup_scan":
        s.set_found({"devices": [
            {"address": "F1:22:33:44:55:66", "kind": "thermometer", "name": "Thermometer FT95",
             "paired": False},
            {"address": "C8:11:22:33:44:55", "kind": "pulse_oximeter",
             "name": "Pulse oximeter PO60", "paired": False}]})
    elif scene == "setup_forget":
        s.device = {"address": "A4:C1:38:00:11:22", "kind": "blood_pressure",
                    "name": "A&D UA-651BLE"}
        s.message = ""
    elif scene == "setup_wifi":
        s.found([{"ssid": "Home-2.4G", "signal": 82, "secure": True, "active": True},
                 {"ssid": "Neighbour", "signal": 40, "secure": True, "active": False}])
    elif scene == "setup_wifi_join":
        s.network = {"ssid": "Home-2.4G", "signal": 82, "secure": True}
    elif scene in ("diagnostics", "diagnostics_details"):
        s.details = scene == "diagnostics_details"
        s.done([{"name": "config", "level": "OK", "detail": "loaded from /etc/hub/hub.toml"},
                {"name": "database", "level": "OK", "detail": "integrity ok, schema 3"},
                {"name": "disk", "level": "OK", "detail": "12.1 GB free"},
                {"name": "socket", "level": "OK", "detail": "/var/lib/hub/hub.sock"},
                {"name": "audio", "level": "WARN", "detail": "no sound card found",
                 "hint": "Plug in the speaker and restart the hub."},
                {"name": "bluetooth", "level": "OK", "detail": "hci0 up"}])
    return screen
