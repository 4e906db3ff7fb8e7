"""Care rules fed by the home sensors: the inactivity check-in and the night-door alert.

Owns: deciding when to ask the elder "Are you all right?", what each answer leads to,
and when a door opening at night is worth an alert. Does not own: the sensors
(:mod:`hub.sensors.gpio` hands facts in through :meth:`CareRules.on_motion` and
:meth:`CareRules.on_door`), the question on the screen (:meth:`hub.core.Core.ask`),
the SOS machine, or health-reading thresholds.

Seams: everything the rules do goes through a :class:`RuleActions` object
(:class:`CoreActions` on the real core, a recorder in tests) and every time they
read comes from a :class:`Clock`, so the tests run hours of a day without waiting.

Time: windows (waking hours, night) are local wall-clock times, and may cross
midnight ("22:00"–"06:00"); equal start and end mean the whole day. Durations
("no motion for 4 hours") are measured on the monotonic clock, so a Pi whose wall
clock jumps when NTP first synchronises neither asks at once nor never.

The rules, as decided
---------------------
* **Inactivity.** Only time inside the current waking window counts: at the start
  of waking hours the count starts afresh (a night's sleep is not inactivity), and
  after a restart the count starts at the start (no history, no false alarm). When
  ``inactivity_hours`` pass without motion (a door opening counts as a sign of
  life too), and no SOS is open, the hub asks "Are you all right?" and waits
  ``inactivity_answer_min`` minutes.

  - "yes": the answer itself is recorded by the core (``checkin_answer``); it counts
    as a sign of life, so the count restarts from the answer.
  - "no": the elder says they are not all right — a request for help. The hub
    records an ``alert`` {"rule": "inactivity", "answer": "no"} at alert priority
    (so the platform knows why) and then starts an SOS through the normal path
    (source ``hub``): the countdown with its huge CANCEL guards against a mis-tap,
    and the SOS brings delivery tracking, "help is coming" and local escalation
    that a bare alert does not.
  - no answer: an ``alert`` {"rule": "inactivity", "answer": null, ...} at alert
    priority, and the hub says ``inactivity_told``.

  After "no" or no answer the hub does not ask again until motion is seen again.
  Without a motion sensor the rule stays quiet: it has nothing to go on.
* **Night door.** The door opening inside the night window raises an ``alert``
  {"rule": "night_door"} at alert priority and the hub says ``night_door``; further
  openings within :data:`NIGHT_DOOR_REPEAT_S` add no alert (each opening is still a
  recorded ``door`` event).
"""

import asyncio
import datetime as dt
import logging
import time
from typing import Protocol

from hub.phrases import phrase
from hub.store import PRIORITY_ALERT

__all__ = [
    "run_rules",
    "CareRules",
    "RuleActions",
    "CoreActions",
    "Clock",
    "SystemClock",
    "parse_hhmm",
    "in_window",
    "window_start",
    "CHECK_EVERY_S",
    "NIGHT_DOOR_REPEAT_S",
]

log = logging.getLogger(__name__)

# How often the inactivity rule looks at the clock: a minute late on a 4-hour rule
# is nothing, and a plain period survives clock jumps and suspend.
CHECK_EVERY_S = 30.0
# One night-door alert per this many seconds: a door left swinging, or a carer going
# in and out, must not flood the platform.
NIGHT_DOOR_REPEAT_S = 5 * 60


# -- time windows (pure) ------------------------------------------------------------


def parse_hhmm(text: str) -> dt.time:
    """Parse "HH:MM" (the config has already checked the form)."""
    hours, minutes = text.split(":")
    return dt.time(int(hours), int(minutes))


def in_window(moment: dt.time, start: dt.time, end: dt.time) -> bool:
    """Tell whether a time of day is in [start, end); the window may cross midnight.

    Equal start and end mean the whole day.
    """
    if start == end:
        return True
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end


def window_start(now: dt.datetime, start: dt.time, end: dt.time) -> dt.datetime | None:
    """The moment the window containing ``now`` began, in ``now``'s time zone.

    :returns: None when ``now`` is outside the window, or the window is the whole day
        (it has no start: nothing to count from but the last sign of life).
    """
    if start == end or not in_window(now.time(), start, end):
        return None
    begun = dt.datetime.combine(now.date(), start, tzinfo=now.tzinfo)
    if begun > now:  # a window crossing midnight that began yesterday evening
        begun -= dt.timedelta(days=1)
    return begun


# -- seams ---------------------------------------------------------------------------


class Clock(Protocol):
    """Where the rules read time."""

    def now(self) -> dt.datetime:
        """Local wall-clock time (aware), for windows."""

    def monotonic(self) -> float:
        """Seconds that never jump, for durations."""


class SystemClock:
    """The machine's clocks."""

    def now(self) -> dt.datetime:
        """Local wall-clock time (aware)."""
        return dt.datetime.now().astimezone()

    def monotonic(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()


class RuleActions(Protocol):
    """Everything the rules can do to the world."""

    async def ask(self, kind: str, question_key: str, timeout: float) -> str | None:
        """Ask the elder on the screen and aloud; the answer key, or None."""

    async def alert(self, data: dict) -> None:
        """Record an ``alert`` event for the platform at alert priority."""

    def say(self, phrase_key: str) -> None:
        """Say a phrase of :mod:`hub.phrases` aloud."""

    async def sos_open(self) -> bool:
        """Tell whether an SOS alarm is open (then the rules do not ask)."""

    async def request_help(self) -> None:
        """Start an SOS on the elder's behalf."""

    def motion_sensor_present(self) -> bool:
        """Tell whether a motion sensor is feeding the rules."""


class CoreActions:
    """:class:`RuleActions` on the real core.

    :param core: the running :class:`hub.core.Core`.
    """

    def __init__(self, core):
        self.core = core

    async def ask(self, kind: str, question_key: str, timeout: float) -> str | None:
        """Full-screen question through :meth:`hub.core.Core.ask` (which records the answer)."""
        return await self.core.ask(kind, question_key, timeout=timeout)

    async def alert(self, data: dict) -> None:
        """Record the alert durably and wake sync urgently."""
        await self.core.record_event("alert", data, source="hub", priority=PRIORITY_ALERT)

    def say(self, phrase_key: str) -> None:
        """Speak in the household's language (the speaker also pushes a caption)."""
        self.core.speaker.say(phrase(phrase_key, self.core.language))

    async def sos_open(self) -> bool:
        """Ask the SOS machine, which lives on the core's loop (no store round trip)."""
        return self.core.sos.alarm is not None

    async def request_help(self) -> None:
        """An SOS press by the hub itself: countdown, cancel, delivery, escalation."""
        await self.core.sos_press("rules")

    def motion_sensor_present(self) -> bool:
        """True when :mod:`hub.sensors.gpio` runs with a PIR open (it sets ``core.gpio``)."""
        gpio = getattr(self.core, "gpio", None)
        return bool(gpio is not None and gpio.has_motion_sensor)


# -- the rules ---------------------------------------------------------------------------


class CareRules:
    """The inactivity and night-door rules of one home.

    Call :meth:`on_motion` / :meth:`on_door` when the sensors see something and
    :meth:`check` periodically; all from the core's loop.

    :param config: the ``[rules]`` section.
    :param actions: what the rules act through.
    :param clock: where they read the time.
    """

    def __init__(self, config, actions: RuleActions, *, clock: Clock | None = None):
        self.config = config
        self.actions = actions
        self.clock = clock or SystemClock()
        self._waking = (parse_hhmm(config.waking_start), parse_hhmm(config.waking_end))
        self._night = (parse_hhmm(config.night_start), parse_hhmm(config.night_end))
        # Starting up counts as a sign of life: there is no history to judge by.
        self._last_activity = self.clock.monotonic()
        self._waiting_for_motion = False
        self._asking = False
        self._activity_while_asking = False
        self._last_night_alert: float | None = None

    # -- facts from the sensors ----------------------------------------------------------

    def on_motion(self) -> None:
        """The motion sensor saw someone."""
        self._sign_of_life()
        self._waiting_for_motion = False

    async def on_door(self, is_open: bool) -> None:
        """The door contact changed; an opening at night may raise an alert."""
        self._sign_of_life()
        if not is_open or not self.config.night_door_enabled:
            return
        now = self.clock.now()
        if not in_window(now.time(), *self._night):
            return
        mono = self.clock.monotonic()
        last = self._last_night_alert
        if last is not None and mono - last < NIGHT_DOOR_REPEAT_S:
            log.info("door opened at night again within %d min: no new alert",
                     NIGHT_DOOR_REPEAT_S // 60)
            return
        self._last_night_alert = mono
        log.warning("door opened at night (%s): alerting the platform", now.strftime("%H:%M"))
        await self.actions.alert({"rule": "night_door", "local_time": now.strftime("%H:%M")})
        self.actions.say("night_door")

    def _sign_of_life(self):
        self._last_activity = self.clock.monotonic()
        if self._asking:
            self._activity_while_asking = True

    # -- inactivity ------------------------------------------------------------------------

    def inactive_seconds(self) -> float | None:
        """Seconds without a sign of life that count now, or None outside waking hours."""
        now = self.clock.now()
        if not in_window(now.time(), *self._waking):
            return None
        quiet = self.clock.monotonic() - self._last_activity
        begun = window_start(now, *self._waking)
        if begun is not None:
            quiet = min(quiet, (now - begun).total_seconds())
        return max(quiet, 0.0)

    async def check(self) -> str | None:
        """Ask if the inactivity rule says so; what happened, for logs and tests.

        :returns: None (nothing to do), ``"yes"``, ``"no"`` or ``"no_answer"``.
        """
        cfg = self.config
        if not cfg.inactivity_enabled or self._waiting_for_motion or self._asking:
            return None
        if not self.actions.motion_sensor_present():
            return None
        quiet = self.inactive_seconds()
        if quiet is None or quiet < cfg.inactivity_hours * 3600:
            return None
        if await self.actions.sos_open():
            return None  # the elder is already in an alarm; a question would confuse
        return await self._ask(quiet)

    async def _ask(self, quiet: float) -> str:
        cfg = self.config
        self._asking, self._activity_while_asking = True, False
        # Set before waiting, so nothing asks twice while this question is open.
        self._waiting_for_motion = True
        log.info("no motion for %.0f min in waking hours: asking the elder", quiet / 60)
        try:
            answer = await self.actions.ask("inactivity", "inactivity_question",
                                            cfg.inactivity_answer_min * 60)
        finally:
            self._asking = False
        facts = {"rule": "inactivity", "answer": answer,
                 "inactive_minutes": round(quiet / 60),
                 "answer_wait_minutes": cfg.inactivity_answer_min,
                 "activity_while_asking": self._activity_while_asking}
        if answer == "yes":
            # The answer is a sign of life: count again from now.
            self._last_activity = self.clock.monotonic()
            self._waiting_for_motion = False
            log.info("the elder answered that they are all right")
            return "yes"
        if answer == "no":
            log.warning("the elder answered that they are not all right: asking for help")
            await self.actions.alert({**facts, "help_requested": True})
            await self.actions.request_help()
            return "no"
        log.warning("no answer to the inactivity check-in: telling the platform")
        await self.actions.alert(facts)
        self.actions.say("inactivity_told")
        return "no_answer"


async def run_rules(core, *, clock: Clock | None = None) -> None:
    """The core extension: run the care rules and receive sensor facts on ``core.rules``.

    :param core: the running core.
    :param clock: where the rules read time (tests inject one).
    """
    rules = CareRules(core.config.rules, CoreActions(core), clock=clock)
    core.rules = rules
    cfg = core.config.rules
    log.info("care rules: inactivity %s (%.1f h, waking %s–%s), night door %s (%s–%s)",
             "on" if cfg.inactivity_enabled else "off", cfg.inactivity_hours,
             cfg.waking_start, cfg.waking_end, "on" if cfg.night_door_enabled else "off",
             cfg.night_start, cfg.night_end)
    try:
        while True:
            try:
                await rules.check()
            except asyncio.CancelledError:
                raise
            except Exception:
                # Keep the rules' memory (last motion) rather than restart from scratch.
                log.exception("the inactivity check failed; trying again in %.0f s",
                              CHECK_EVERY_S)
            await asyncio.sleep(CHECK_EVERY_S)
    finally:
        if getattr(core, "rules", None) is rules:
            core.rules = None
