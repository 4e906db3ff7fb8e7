"""A question from the core ("Are you all right?") on the whole screen, with two huge answers.

The core owns the question (it speaks it and waits); the kiosk shows it, sends the
answer with ``prompt.answer`` and closes when the core pushes ``open: false``.
"""

from kivy.clock import Clock
from kivy.properties import DictProperty, ListProperty, StringProperty

from hub.ui.i18n import _
from hub.ui.widgets import HubScreen

__all__ = ["PromptScreen", "SCREENS", "answer_label", "LATER_SECONDS"]

#: "Ask me later" puts the question away for this long (10 minutes).
LATER_SECONDS = 600.0


def answer_label(key: str, kind: str = "") -> str:
    """The words on an answer button (for "Are you all right?": "Yes, I am fine")."""
    if kind == "checkin" and key in ("yes", "later"):
        return _("Yes, I am fine") if key == "yes" else _("Ask me later")
    if kind == "reminder" and key == "later":
        from hub.ui.care_reminders import snooze_label

        return snooze_label()
    if kind == "inactivity" and key in ("yes", "no"):
        return _("Yes, I am fine") if key == "yes" else _("No, I need help")
    return {
        "yes": _("Yes"),
        "no": _("No"),
        "ok": _("I'm OK"),
        "help": _("I need help"),
        "done": _("Done"),
        "later": _("Later"),
        "taken": _("I took it"),
    }.get(key, key.replace("_", " ").capitalize())


class PromptScreen(HubScreen):
    """The open question."""

    prompt = DictProperty({})
    question = StringProperty("")
    answers = ListProperty([])

    def show(self, prompt: dict):
        self.prompt = prompt
        self.question = prompt.get("question", "")
        self.answers = list(prompt.get("answers") or ["yes", "no"])[:2]
        self.message = ""

    def answer(self, index: int):
        if index >= len(self.answers):
            return
        key = self.answers[index]
        prompt_id = self.prompt.get("id")

        def done(_result):
            app = self.app
            if app.prompt and app.prompt.get("id") == prompt_id:
                app.prompt = None
            # A plain "Thank you." after "No, I need help" would read as if nothing more
            # happens: the note says what the answer did, and only for a fine answer.
            if key in ("yes", "ok", "done"):
                app.show_notice(_("Thank you. Your family will see that you are well."))
            elif key in ("no", "help"):
                app.show_notice(_("Your answer was sent to the care centre."))
            app.route()

        self.app.call("prompt.answer", done,
                      lambda words, _c: self.say_message(words, error=True),
                      id=prompt_id, answer=key, source="touch")

    def later(self):
        """Ask me later: put the question away; it comes back after LATER_SECONDS if the
        core still waits for an answer (the core's own rules decide what an unanswered
        question means — the kiosk does not answer for the elder)."""
        app = self.app
        prompt = app.prompt
        if not prompt:
            return
        app.prompt = None
        app.show_notice(_("I will ask again later."))
        app.route()

        def again(_dt):
            if app.prompt is None and prompt.get("id") in app.open_prompts:
                app.prompt = prompt
                self.show(prompt)
                app.route()
        Clock.schedule_once(again, LATER_SECONDS)

    def answer_font(self, height: float, sos_px: float, button_px: float, text: str = "",
                    width: float = 0) -> float:
        """The SOS words' size if two lines of it fit the button, else smaller, never
        below a button label's size (the room shrinks while the caption shows).
        A long answer ("Remind me in 10 minutes") that needs more lines at the SOS size
        gets a button label's size."""
        u = self.app.u if self.app else 1.0
        if text and width > 40 * u and self.app:
            from hub.ui.widgets import _core_label, text_width

            room = width - 20 * u
            lines = _core_label(text, sos_px, self.app.font_name, True, room)
            # Line breaking (kinsoku) can need more than the plain wrap: keep a margin.
            if lines.content_height > height - 20 * u or \
                    text_width(text, sos_px, self.app.font_name, True) > 1.7 * room:
                return button_px
        if height >= 2 * sos_px * 1.45 + u * 20:
            return sos_px
        # in steps of 8 px: every font size in use keeps a CJK face open (~2.5 MB each)
        return max(button_px, min(sos_px, (height - u * 20) / 2.9 // 8 * 8))

    def spoken_text(self):
        return self.question + " " + " / ".join(answer_label(a, self.prompt.get("kind", ""))
                                          for a in self.answers)


SCREENS = [PromptScreen]
