"""A question from the core ("Are you all right?") on the whole screen, with two huge answers.

The core owns the question (it speaks it and waits); the kiosk shows it, sends the
answer with ``prompt.answer`` and closes when the core pushes ``open: false``.
"""

from kivy.properties import DictProperty, ListProperty, StringProperty

from hub.ui.i18n import _
from hub.ui.widgets import HubScreen

__all__ = ["PromptScreen", "SCREENS", "answer_label"]


def answer_label(key: str, kind: str = "") -> str:
    """The words on an answer button (for "Are you all right?": "Yes, I am fine")."""
    if kind == "inactivity" and key in ("yes", "no"):
        return _("Yes, I am fine") if key == "yes" else _("No, I need help")
    return {
        "yes": _("Yes"),
        "no": _("No"),
        "ok": _("I'm OK"),
        "help": _("I need help"),
        "done": _("Done"),
        "later": _("Later"),
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
            app.show_notice(_("Thank you."))
            app.route()

        self.app.call("prompt.answer", done,
                      lambda words, _c: self.say_message(words, error=True),
                      id=prompt_id, answer=key, source="touch")

    def spoken_text(self):
        return self.question + " " + " / ".join(answer_label(a, self.prompt.get("kind", ""))
                                          for a in self.answers)


SCREENS = [PromptScreen]
