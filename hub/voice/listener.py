"""The voice process: hear an utterance, decide what it means now, ask the core to act.

This module owns *when* the hub listens and what each command does, as a client of the
core's local API. It never opens the database or a device other than the microphone,
and it never speaks by itself: replies go to the core (``say``) so the core's speech
priorities apply (SOS speech first).

When it listens:

* the emergency phrases ("help", "help me", "emergency", …) at any time: they press SOS
  at once (the core starts its spoken countdown; no second confirmation);
* "cancel" without a wake phrase only while a countdown runs (a radio saying "stop"
  must not end a raised alarm; after raising, "cancel" needs the wake phrase);
* yes / no / I'm OK without a wake phrase while the core has a question open;
* heard without the wake phrase, "cancel" and the answers need the language's
  ``answer_min_confidence``, not the ordinary one: a television that says "stop"
  during a countdown would lose an alarm, and one that says "yes" to the check-in
  would hide an elder who needs someone. A missed "cancel" costs a false alarm that
  the family can call off; said after the wake phrase, the ordinary threshold applies;
* every other command after the wake phrase (in the same breath or within
  ``window_s`` seconds) or after a ``voice.listen`` request (a ``voice`` push with
  ``listen: true``: the kiosk's Speak button), which is answered with one short prompt
  ("Please say what you need."). The window closes by itself, after a command, and after
  two re-asks in a row. Whether it is open is reported to the core (``voice.state``,
  sent by the service from :meth:`VoiceListener.tick`), which the kiosk shows.
* the hub hears its own voice: an utterance that *began* while the hub was speaking
  (a prompt, a reply, Read aloud, a message read out) is never acted on, except an
  emergency phrase that is not in what the hub is saying. Measured with the real
  recognisers: the hub's "Yes? I am listening." answered an open check-in "yes", and
  its "Cancelled. No alarm was sent." was heard as "cancel" at 0.83; a prompt heard
  as a command not understood would have been re-asked for ever. The hub is speaking
  from a ``say`` push (its text) until a ``speaker`` push ``{speaking: false}`` (the
  speaker is quiet, plus :data:`ECHO_TAIL_S`), or, without one (a silent engine), for the
  text's estimated length (:func:`speech_seconds`). Someone who talks over the hub
  says it again when it stops.

Not understood while the window is open → one short sentence asking again and pointing
at the buttons. Ordinary talk outside the window is ignored without a word.
"""

import datetime as dt
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from hub.errors import ApiError
from hub.voice.audio import FRAME_MS, Endpointer, Frame, Utterance
from hub.voice.engines import Engine, Hypothesis
from hub.voice.grammar import Language

__all__ = ["VoiceListener", "Outcome", "format_time", "speech_seconds"]

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What one utterance led to (for logs, ``hub voice test`` and tests)."""

    heard: str
    confidence: float
    command: str | None
    action: str  # e.g. "sos.press", "ignored", "asked_again", "rejected"
    end_t: float = 0.0  # end of speech (monotonic)
    delivered_t: float = 0.0  # the core acknowledged the request (monotonic)
    detail: dict = field(default_factory=dict)

    @property
    def latency_s(self) -> float | None:
        """End of speech → intent delivered to the core."""
        return self.delivered_t - self.end_t if self.delivered_t and self.end_t else None


def format_time(now: dt.datetime, language: str) -> str:
    """A clock time as people say it, in the language."""
    h, m = now.hour, now.minute
    h12 = h % 12 or 12
    if language == "ko":
        return f"{'오전' if h < 12 else '오후'} {h12}시 {m}분"
    if language == "zh_CN":
        return f"{'上午' if h < 12 else '下午'}{h12}点{m}分"
    return f"{h12}:{m:02d} {'in the morning' if h < 12 else 'in the afternoon' if h < 18 else 'in the evening'}"


#: Re-asks ("say that again") in a row before the window closes without a word.
MAX_REASKS = 2
#: Added to a spoken text's estimated length: the speaker's start-up and the room's echo.
SPEECH_MARGIN_S = 0.8
#: After the core reports its speaker quiet: the room's echo and the sound card's buffer.
ECHO_TAIL_S = 0.5
#: A ``say`` push this soon after an utterance began: the microphone heard the hub start.
LATE_PUSH_S = 0.5


def _squash(text: str) -> str:
    """Letters and digits only, lower case: "Help me," and "help me" (and 살려 주세요 and
    살려주세요) compare equal."""
    return re.sub(r"[\W_]+", "", text.lower())


def speech_seconds(text: str, rate_wpm: int = 140) -> float:
    """About how long the hub takes to say ``text`` at ``rate_wpm`` words a minute.

    Latin text counts words; Chinese and Korean count syllables (one character or Hangul
    block each), at the 1.5 syllables a word espeak-ng's rate assumes for English.
    """
    words_per_s = max(rate_wpm, 40) / 60.0
    cjk = sum(1 for ch in text if "\u3400" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7a3")
    latin = len([w for w in text.split() if any(c.isalnum() and c.isascii() for c in w)])
    return latin / words_per_s + cjk / (words_per_s * 1.5) + SPEECH_MARGIN_S


class VoiceListener:
    """Turns utterances into core commands.

    :param language: the phrase set.
    :param engine: the recogniser (fed by :meth:`feed_frame`).
    :param request: ``request(cmd, **args)`` to the core (an ``ApiClient.request``),
        or None to only report what would be done (``hub voice test``).
    :param window_s: how long the listening window stays open.
    :param min_confidence: below this an utterance is treated as not a command.
    :param end_ms: silence that ends an utterance.
    :param decode_ahead_ms: after this much of a pause in an utterance of at most
        ``ahead_max_ms`` of voiced audio (commands are short), finish decoding it while
        the rest of ``end_ms`` is confirmed (decoded again if speech goes on); 0 = decode
        when it has ended. (Ending an utterance early once it decodes as a command was
        measured and rejected: a noisy "stop" cut short was heard as "help".)
    """

    def __init__(self, language: Language, engine: Engine, request: Callable | None, *,
                 window_s: float = 8.0, min_confidence: float = 0.6, end_ms: int = 300,
                 vad_threshold_db: float = 9.0, decode_ahead_ms: int = 0,
                 ahead_max_ms: int = 1500, clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], dt.datetime] = lambda: dt.datetime.now().astimezone(),
                 on_outcome: Callable[[Outcome], None] | None = None):
        self.language = language
        self.engine = engine
        self.request = request
        self.window_s = window_s
        self.min_confidence = min_confidence
        self.clock = clock
        self.now = now
        self.on_outcome = on_outcome
        self.outcomes: list[Outcome] = []
        self._lock = threading.Lock()
        self.sos_state = "idle"
        self.prompt: dict | None = None
        self.window_until = 0.0
        #: The hub's speech rate (words a minute; the service follows the setting).
        self.speech_rate = 140
        self._deaf_until = 0.0  # the hub is (probably) speaking until then
        self._hub_texts: list[str] = []  # what the hub has said since it began speaking
        self._utt_started = 0.0  # when the utterance going on began
        self._over_hub = False  # the utterance going on began while the hub spoke
        self._prompt_due = False  # a Speak press: say the prompt (on the listener's thread)
        self._reasks = 0
        self._speech_in_window = False  # the utterance going on began in the window
        self._reported: bool | None = None  # the window state last given by tick()
        self.ahead_max_ms = ahead_max_ms
        self._decoded: Hypothesis | None = None  # decoded ahead, during the final pause
        self._ahead_frames = decode_ahead_ms // FRAME_MS
        self._ahead = False  # decoded ahead; audio is held back until speech goes on
        self.endpointer = Endpointer(end_ms=end_ms, threshold_db=vad_threshold_db,
                                     on_start=self._on_start,
                                     on_frame=self._feed, on_end=self._on_utterance,
                                     on_pause=self._on_pause if self._ahead_frames else None,
                                     on_resume=self._on_resume if self._ahead_frames else None)

    # -- state from the core's pushes (called on the API reader thread) ---------------

    def on_push(self, topic: str, data: dict):
        """Follow the core: SOS state, open questions, the Speak button."""
        with self._lock:
            if topic == "sos":
                self.sos_state = data.get("state", self.sos_state)
            elif topic == "prompt":
                if data.get("open"):
                    self.prompt = data
                elif self.prompt and self.prompt.get("id") == data.get("id"):
                    self.prompt = None
            elif topic == "voice" and data.get("listen"):
                self._reasks = 0
                self.open_window()
                self._prompt_due = True  # said by tick(): never request on the reader thread
            elif topic == "say" and data.get("text"):
                self.hub_speaks(str(data["text"]))
            elif topic == "speaker" and data.get("speaking") is False:
                self.hub_quiet()
            elif topic == "settings" and data.get("speech_rate"):
                self.speech_rate = int(data["speech_rate"])

    def hub_speaks(self, text: str):
        """The hub starts saying ``text`` now: what the microphone hears until it ends is
        the hub itself, not the elder addressing it."""
        now = self.clock()
        if now >= self._deaf_until:
            self._hub_texts = []
        self._hub_texts.append(text)
        if self.endpointer.in_speech and now - self._utt_started < LATE_PUSH_S:
            self._over_hub = True  # the push came just after the microphone heard it
            self._speech_in_window = False
        self._deaf_until = max(self._deaf_until, now + speech_seconds(text, self.speech_rate))
        if self.window_open:  # the elder gets the whole window after the hub has spoken
            self.window_until = max(self.window_until, self._deaf_until + self.window_s)

    def hub_quiet(self):
        """The core's speaker has finished everything it had to say (``speaker`` push,
        ``speaking: false``): only the echo is left, so the estimate gives way to the real
        end."""
        self._deaf_until = min(self._deaf_until, self.clock() + ECHO_TAIL_S)

    def open_window(self):
        """Listen for any command for ``window_s`` seconds (Speak button or wake phrase);
        what the hub says while it is open pushes its end back (:meth:`hub_speaks`)."""
        self.window_until = self.clock() + self.window_s

    @property
    def window_open(self) -> bool:
        """The elder addressed the hub a moment ago."""
        return self.clock() < self.window_until

    @property
    def listening(self) -> bool:
        """The window is open, or an utterance that began in it is still going on."""
        return self.window_open or (self.endpointer.in_speech and self._speech_in_window)

    def tick(self) -> bool | None:
        """On the listener's thread, between frames: say the Speak prompt if one is due;
        returns the window's state when it changed since the last call (for
        ``voice.state``), else None."""
        if self._prompt_due:
            self._prompt_due = False
            self._say("speak_prompt")
        now = self.listening
        if now == self._reported:
            return None
        self._reported = now
        return now

    def report_again(self):
        """The next :meth:`tick` gives the window's state even if unchanged (a new
        connection to the core knows nothing of it)."""
        self._reported = None

    # -- audio ---------------------------------------------------------------------

    def feed_frame(self, frame: Frame):
        """Take one frame of audio (from the source's queue, on the listener's thread)."""
        self.endpointer.process(frame)

    def _on_start(self):
        # Addressed by the window only if it began in the window, after the hub stopped
        # speaking (it may end after the window closed: the elder began in time).
        now = self.clock()
        self._utt_started = now
        self._over_hub = now < self._deaf_until
        self._speech_in_window = self.window_open and not self._over_hub
        # A second opinion can only give a command for an open window (never an
        # emergency phrase, the wake phrase or an unaddressed answer): else save the CPU.
        self.engine.rescue = self._speech_in_window

    def flush(self):
        """End of the audio stream: finish an utterance still going on."""
        self.endpointer.flush()

    def _feed(self, pcm: bytes):
        if not self._ahead:
            self.engine.feed(pcm)

    def _on_pause(self, frames: int):
        """Decode ahead: after ``decode_ahead_ms`` of a pause, finish the decode while the
        rest of ``end_ms`` is being confirmed, so little is left to do when it ends."""
        if frames == self._ahead_frames and not self._ahead and \
                self.endpointer.voiced_ms <= self.ahead_max_ms:  # commands are short
            self._decoded = self.engine.finish()
            self._ahead = True

    def _on_resume(self):
        """Speech went on after a decode ahead: decode the whole utterance again."""
        if self._ahead:
            self._ahead, self._decoded = False, None
            self.engine.feed(self.endpointer.pcm)

    def _accepted(self, hyp: Hypothesis):
        """The grammar's match for a hypothesis; nothing if the recogniser is too unsure."""
        match = self.language.match(hyp.text.strip())
        need = max(self.min_confidence, self.language.sos_min_confidence) \
            if match.command == "sos" else self.min_confidence
        if hyp.confidence < need:
            match = type(match)(None, False, match.text)  # too unsure: not a command
        return match

    def _on_utterance(self, utt: Utterance):
        hyp, self._decoded = self._decoded or self.engine.finish(), None
        self._ahead = False
        in_window, self._speech_in_window = self._speech_in_window, False
        over_hub, self._over_hub = self._over_hub, False
        outcome = self.handle(hyp, end_t=utt.end_t, in_window=in_window, over_hub=over_hub)
        self.outcomes.append(outcome)
        if self.on_outcome:
            self.on_outcome(outcome)

    # -- meaning -------------------------------------------------------------------

    def handle(self, hyp: Hypothesis, *, end_t: float = 0.0,
               in_window: bool | None = None, over_hub: bool = False) -> Outcome:
        """Decide what an utterance means now, and act on it.

        :param in_window: the utterance began in the listening window (None: the window
            is open now).
        :param over_hub: the utterance began while the hub was speaking: it may be the
            hub's own voice. Only an emergency phrase the hub is not saying itself counts
            then; the elder repeats anything else once the hub is quiet.
        """
        text = hyp.text.strip()
        out = Outcome(text, hyp.confidence, None, "ignored", end_t=end_t)
        if not text:
            return out
        match = self._accepted(hyp)
        cmd, woke = match.command, match.woke
        out.command = cmd
        if over_hub and (cmd != "sos" or self._said_by_hub(text)):
            out.action = "echo"  # silent: heard while the hub spoke (e.g. "Say cancel")
            return out
        in_window = self.window_open if in_window is None else in_window
        addressed = woke or in_window
        with self._lock:
            sos_state, prompt = self.sos_state, self.prompt
        if cmd is None:
            if woke:
                self._reasks = 0
                self.open_window()
                out.action = "listening"
                self._say("listening")
            elif addressed and self._reasks < MAX_REASKS:
                self._reasks += 1
                self.open_window()  # one more try
                out.action = "asked_again"
                self._say("not_understood")
            elif addressed:
                self.window_until = 0.0  # asked twice: the buttons are there
                out.action = "rejected"
            else:
                out.action = "rejected"
            return out
        if cmd == "sos":
            return self._act(out, "sos.press", id=str(uuid.uuid4()), retry=True)
        strict = hyp.confidence >= max(self.min_confidence, self.language.answer_min_confidence)
        unaddressed_answer = not addressed and (
            (cmd == "cancel" and sos_state == "countdown") or
            (cmd in ("yes", "no", "ok") and prompt))
        # A wake phrase and a command heard in one breath need the same certainty (the
        # Korean soak's radio gave "안녕 허브 가족 전화해" at 0.22: the family asked to call).
        woke_in_one_breath = woke and not in_window
        if not strict and (unaddressed_answer or woke_in_one_breath):
            out.action = "unsure"  # silent: it may well be the television
            return out
        if cmd == "cancel" and (sos_state == "countdown" or
                                (addressed and sos_state != "idle")):
            self.window_until = 0.0
            return self._act(out, "sos.cancel", retry=True)
        if cmd in ("yes", "no", "ok") and prompt:
            answers = prompt.get("answers") or []
            answer = cmd if cmd in answers else "yes" if cmd == "ok" and "yes" in answers \
                else None
            if answer:
                self.window_until = 0.0
                return self._act(out, "prompt.answer", id=prompt["id"], answer=answer)
        if not addressed:
            out.action = "needs_wake"
            return out
        self.window_until = 0.0
        self._reasks = 0
        handler = getattr(self, "_do_" + cmd)
        return handler(out)

    def _said_by_hub(self, heard: str) -> bool:
        """The words heard are in what the hub has been saying (a message read aloud that
        says "help me" must not raise an alarm)."""
        heard = _squash(heard)
        return bool(heard) and any(heard in _squash(t) for t in self._hub_texts)

    def _act(self, out: Outcome, cmd: str, retry: bool = False, **args) -> Outcome:
        out.action = cmd
        if self.request is None:
            return out
        # An SOS must get through: retry with the same press id (the core deduplicates).
        deadline = self.clock() + (10.0 if retry else 0.0)
        while True:
            try:
                out.detail = self.request(cmd, **args) or {}
                out.delivered_t = self.clock()
                return out
            except ApiError as exc:
                if self.clock() >= deadline:
                    log.error("voice command %s failed: %s", cmd, exc)
                    out.action = f"{cmd} failed"
                    out.detail = {"error": str(exc)}
                    return out
                time.sleep(0.2)

    def _say(self, key: str, **params):
        text = self.language.reply(key, **params)
        if self.request is not None:
            self.hub_speaks(text)  # the core's `say` push follows; this covers the gap
            try:
                self.request("say", text=text)
            except ApiError as exc:
                log.warning("could not ask the core to say %r: %s", text, exc)
        return text

    def _call(self, cmd: str, **args):
        return self.request(cmd, **args) if self.request else None

    # -- commands (after the wake phrase or the Speak button) ---------------------------

    def _do_cancel(self, out):
        out.action = "nothing_to_cancel"
        self._say("nothing_to_cancel")
        return out

    def _do_yes(self, out):
        out.action = "no_question"
        self._say("no_question")
        return out

    _do_no = _do_yes

    def _do_ok(self, out):
        return self._act(out, "checkin", answer="ok")  # the core thanks the elder

    def _do_call_family(self, out):
        # The same request as the kiosk's "Call my family" (it shows in My requests and
        # the core says who will be asked to call); the core speaks the confirmation.
        self._act(out, "family.call", contact=self.language.reply("family_contact"))
        if out.action.endswith("failed"):
            self._say("family_failed")
        return out

    def _do_time(self, out):
        out.action = "say_time"
        out.delivered_t = self.clock()
        self._say("time", time=format_time(self.now(), self.language.code))
        return out

    def _do_blood_pressure(self, out):
        self._act(out, "readings.latest")
        bp = (out.detail or {}).get("blood_pressure") if isinstance(out.detail, dict) else None
        if not bp:
            self._say("no_reading")
            return out
        values = bp.get("values") or {}
        when = self._when(bp.get("measured_at"))
        self._say("blood_pressure", systolic=round(values.get("systolic", 0)),
                  diastolic=round(values.get("diastolic", 0)), when=when)
        return out

    def _when(self, rfc3339: str | None) -> str:
        try:
            at = dt.datetime.fromisoformat(str(rfc3339).replace("Z", "+00:00")).astimezone()
        except ValueError:
            return ""
        now = self.now()
        clock = format_time(at, self.language.code)
        if at.date() == now.date():
            return self.language.reply("today", time=clock)
        return self.language.reply("on_day", date=at.strftime("%Y-%m-%d"), time=clock)

    def _do_messages(self, out):
        self._act(out, "inbox.list")
        messages = out.detail if isinstance(out.detail, list) else []
        unread = [m for m in messages if not m.get("read_at")]
        if not unread:
            self._say("no_messages")
            return out
        msg = unread[0]
        data = msg.get("payload") or msg.get("data") or {}
        text = next((str(data[k]) for k in ("text", "body", "message", "title") if data.get(k)),
                    "")
        sender = data.get("from") or data.get("sender")
        if sender:
            self._say("message", sender=sender, text=text)
        else:
            self._say("message_nosender", text=text)
        try:
            self._call("inbox.read", id=msg["id"])
        except ApiError as exc:
            log.warning("could not mark message read: %s", exc)
        return out

    def _volume(self, out, step: float):
        self._act(out, "settings.get")
        volume = float((out.detail or {}).get("volume", 1.0)) if isinstance(out.detail, dict) \
            else 1.0
        new = round(min(1.0, max(0.1, volume + step)), 2)
        if new == round(volume, 2):
            self._say("loudest" if step > 0 else "quietest")
            return out
        self._act(out, "settings.set", key="volume", value=new)
        self._say("louder" if step > 0 else "quieter")
        return out

    def _do_louder(self, out):
        return self._volume(out, +0.2)

    def _do_quieter(self, out):
        return self._volume(out, -0.2)
