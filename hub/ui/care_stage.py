"""The care-routine screens (issue 10) with believable content, for screenshots and the audit.

:data:`CARE_SCENES` are added to :data:`hub.ui.stage.SCENES`; :func:`stage_care` is
called by :func:`hub.ui.stage.stage` after it has reset the app (language, the fixed
clock ``app.now``), and returns the name of the screen shown. Like the rest of the
stage it feeds the screens the answers the core would give, without a core.
"""

import datetime as dt

from hub.phrases import phrase

__all__ = ["CARE_SCENES", "stage_care", "sample_requests", "sample_reminders"]

CARE_SCENES = [
    # (the second page of services and the rating opened from My requests share these
    # layouts; they are left out to keep the audit's time in CI down)
    "care_menu", "care_services", "care_confirm", "care_requests",
    "care_rating_prompt", "care_family", "care_called", "prompt_checkin",
    "prompt_reminder", "care_setup", "care_reminders", "care_reminder_what",
    "care_reminder_time", "care_reminder_days", "care_reminder_delete", "care_consent",
]

_SERVICES = ["meals", "shopping", "repair", "cleaning", "company", "doctor_visit"]
_DAUGHTER = {"en": "Your daughter", "zh_CN": "您的女儿", "ko": "따님"}
_LABELS = {"en": "medicine", "zh_CN": "吃药", "ko": "약"}


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def sample_requests(now: dt.datetime, lang: str) -> list[dict]:
    """A meal scheduled for tomorrow noon, shopping done (not yet rated), a call-back."""
    tomorrow_noon = (now + dt.timedelta(days=1)).replace(hour=12, minute=0)
    return [
        {"request_id": "r1", "kind": "service", "service": "meals", "status": "scheduled",
         "at": _utc(tomorrow_noon), "created_at": now.isoformat()},
        {"request_id": "r2", "kind": "service", "service": "shopping", "status": "done",
         "created_at": (now - dt.timedelta(days=1)).isoformat()},
        {"request_id": "r3", "kind": "callback", "contact": _DAUGHTER.get(lang, "Your daughter"),
         "status": "accepted", "created_at": (now - dt.timedelta(days=2)).isoformat()},
    ]


def sample_reminders(lang: str) -> list[dict]:
    label = _LABELS.get(lang, "medicine")
    return [
        {"id": "rem1", "label": label, "dose": "",
         "schedule": {"times": ["08:00", "20:00"], "weekdays": ["mon", "tue", "wed", "thu",
                                                                "fri", "sat", "sun"]}},
        {"id": "rem2", "label": label, "dose": "",
         "schedule": {"times": ["12:30"], "weekdays": ["mon", "wed", "fri"]}},
    ]


def _prompt(app, kind: str, key: str, answers: list[str], lang: str, **params):
    app.on_core_push("prompt", {"id": "p-" + kind, "kind": kind, "open": True,
                                "question": phrase(key, lang, **params), "answers": answers})


def stage_care(app, scene: str, lang: str) -> str:
    """Put ``app`` into one of :data:`CARE_SCENES`; returns the screen shown."""
    now = app.now()
    if scene == "prompt_checkin":
        _prompt(app, "checkin", "checkin_question", ["yes", "later"], lang)
        return "prompt"
    if scene == "prompt_reminder":
        _prompt(app, "reminder", "reminder_due", ["taken", "later"], lang,
                label=_LABELS.get(lang, "medicine"))
        return "prompt"
    if scene == "care_rating_prompt":
        _prompt(app, "service_rating", "service_rate_question", ["1", "2", "3", "4", "5"],
                lang)
        return "care_rating"
    screen = scene
    app.history = ["home"]
    app.nav = screen
    app.sm.current = screen
    s = app.sm.current_screen
    s.message = ""
    if scene == "care_services":
        s.page = 0
        s.set_services(_SERVICES)
    elif scene == "care_confirm":
        s.service = "meals"
    elif scene == "care_requests":
        s.page = 0
        s.set_requests(sample_requests(now, lang))
    elif scene == "care_called":
        s.entry = sample_requests(now, lang)[2]
    elif scene == "care_reminders":
        s.page = 0
        s.set_reminders(sample_reminders(lang))
    elif scene == "care_reminder_time":
        s.hour, s.minute = 8, 30
    elif scene == "care_reminder_days":
        s.time = "08:30"
        s.days = ["mon", "wed", "fri", "sat", "sun"]
    elif scene == "care_reminder_delete":
        s.reminder = sample_reminders(lang)[1]
    elif scene == "care_consent":
        s.consent = {"health": True, "checkins": True, "activity": False, "services": True}
    return screen
