"""The SOS state machine: the heart of the product.

States of one alarm::

    idle → countdown → raised → delivered → acknowledged → resolved
              │           └──────────┴───────────┴──────→ resolved ("I'm safe now")
              └→ cancelled

* A press starts a countdown (``sos.countdown`` seconds for touch and voice,
  ``sos.button_countdown`` for the GPIO button, where 0 raises at once).
* When the countdown ends the alarm is **raised**: written durably (fsync) with its
  outbox row before anything else happens, and handed to sync ahead of all traffic.
* **delivered** when the platform has the raised event, **acknowledged** when a
  person took it ("Li Wei is coming"), **resolved** when it is over.
* A press while an alarm is open never makes a second alarm; it is recorded
  (and sent: the platform should know the elder pressed again).
* Not delivered within ``sos.escalate_after`` seconds → escalated: the core repeats
  a loud spoken message and the alarm sound until delivery.

Every transition is an event in the store, written in the same transaction as the
alarm's new state, so a restart recovers exactly where it was. Timers run on the
monotonic clock, so an NTP step (years, on a Pi without RTC) cannot shorten or
stretch a countdown; wall time is kept only to recover after a restart.

The machine does no I/O but the store: each call returns *effects* (push the new
state, speak, sound the alarm, wake sync) that the core carries out. Calls must
come from one thread.

Saving is pluggable (``persist=``). By default each transition is written to the
store before the call returns (tests, tools). The core instead hands each write to
its alarm writer thread and carries out the effects at once: the elder hears the
alarm even while the SD card is stalled or full, and the write, with the ids and
times fixed here, lands (idempotently) as soon as the storage lets it.
"""

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from hub.clock import new_id, parse_rfc3339, to_rfc3339, utc_now
from hub.config import SosSection
from hub.store import Store

__all__ = ["SosMachine", "Effects", "SOURCES", "IDLE", "COUNTDOWN", "RAISED", "DELIVERED",
           "ACKNOWLEDGED", "RESOLVED", "CANCELLED"]

log = logging.getLogger(__name__)

IDLE, COUNTDOWN, RAISED = "idle", "countdown", "raised"
DELIVERED, ACKNOWLEDGED = "delivered", "acknowledged"
RESOLVED, CANCELLED = "resolved", "cancelled"
OPEN_STATES = (COUNTDOWN, RAISED, DELIVERED, ACKNOWLEDGED)
SOURCES = ("touch", "voice", "button", "api", "platform", "simulator", "rules", "hub")


@dataclass
class Effects:
    """What the core must do after a transition.

    :ivar push: the state changed; push :meth:`SosMachine.snapshot` to clients.
    :ivar sync_urgent: an urgent outbox row was written; wake sync now.
    :ivar say: phrase keys (see :mod:`hub.phrases`) with their parameters, in order.
    :ivar alarm_sound: True to start/repeat the alarm sound, False to stop it, None: no change.
    """

    push: bool = False
    sync_urgent: bool = False
    say: list[tuple[str, dict]] = field(default_factory=list)
    alarm_sound: bool | None = None

    def merge(self, other: "Effects") -> "Effects":
        """Combine two sets of effects, in order."""
        return Effects(
            push=self.push or other.push,
            sync_urgent=self.sync_urgent or other.sync_urgent,
            say=self.say + other.say,
            alarm_sound=other.alarm_sound if other.alarm_sound is not None else self.alarm_sound,
        )


class SosMachine:
    """One elder's alarm, recovered from and saved to the store.

    :param store: the hub's store (used from the calling thread only).
    :param config: the ``[sos]`` section.
    :param now: wall clock (UTC), injectable.
    :param monotonic: monotonic seconds, injectable.
    :param persist: ``persist(alarm, kind, payload, **kw)`` saves a transition (the
        arguments of :meth:`Store.sos_transition`, with ``event_id`` and ``occurred_at``
        always given). Default: write it to ``store`` before returning.
    """

    def __init__(self, store: Store, config: SosSection, *,
                 now: Callable[[], dt.datetime] = utc_now,
                 monotonic: Callable[[], float] = time.monotonic,
                 persist: Callable[..., None] | None = None):
        self.store = store
        self._persist = persist
        self.config = config
        self._now = now
        self._mono = monotonic
        self.alarm: dict | None = None
        self._countdown_ends: float | None = None
        self._escalate_at: float | None = None
        self._last_finished: dict | None = None
        # Event ids this machine has saved or loaded, so a retried press is known
        # without reading the store (which may be stalled).
        self._known_ids: set[str] = set()

    def _save(self, kind: str, payload: dict, *, source: str, event_id: str | None = None,
              sync: bool = False, occurred_at: dt.datetime | None = None):
        """Save the alarm's new state with its transition event (see ``persist``)."""
        event_id = event_id or new_id()
        occurred_at = occurred_at or self._now()
        self._known_ids.add(event_id)
        kw = dict(source=source, event_id=event_id, sync=sync, occurred_at=occurred_at)
        if self._persist is None:
            self.store.sos_transition(dict(self.alarm), kind, payload, **kw)
        else:
            self._persist(dict(self.alarm), kind, payload, **kw)

    # -- recovery ---------------------------------------------------------------

    def load(self) -> Effects:
        """Recover the open alarm (if any) after a start or a crash."""
        self.alarm = self.store.sos_active()
        self._last_finished = None if self.alarm else self.store.sos_last()
        for known in (self.alarm, self._last_finished):
            if known:
                self._known_ids.add(known["id"])
                self._known_ids.update(e["id"] for e in self.store.events(sos_id=known["id"]))
        fx = Effects(push=True)
        if not self.alarm:
            return fx
        state = self.alarm["state"]
        log.warning("recovered an open SOS alarm %s in state %s", self.alarm["id"], state)
        if state == COUNTDOWN:
            left = 0.0
            if self.alarm["countdown_deadline"]:
                deadline = parse_rfc3339(self.alarm["countdown_deadline"])
                left = (deadline - self._now()).total_seconds()
            # Clamp: a clock that jumped must neither stretch nor skip the countdown.
            left = min(max(left, 0.0), float(self.config.countdown))
            if left <= 0:
                return fx.merge(self._raise(source="recovery"))
            self._countdown_ends = self._mono() + left
            fx.say.append(("sos_countdown", {"seconds": round(left)}))
        elif state == RAISED:
            raised = self.store.get_event(self.alarm["id"])
            if raised and raised["delivered_at"]:
                # Sync delivered it but the core died before hearing so.
                return fx.merge(self.delivered([self.alarm["id"]]))
            self._escalate_at = self._mono() + self._escalate_delay_after_restart()
            fx.sync_urgent = True
        return fx

    def _escalate_delay_after_restart(self) -> float:
        if self.alarm.get("escalated_at"):
            return 0.0
        raised = parse_rfc3339(self.alarm["raised_at"])
        elapsed = (self._now() - raised).total_seconds()
        return min(max(self.config.escalate_after - elapsed, 0.0), self.config.escalate_after)

    # -- the elder (or family, or platform) acts ---------------------------------

    def press(self, source: str, *, press_id: str | None = None, test: bool = False) -> tuple[dict, Effects]:
        """SOS pressed on the screen, by voice, or on the button.

        :param press_id: the client's id for this press; a retried press with the same
            id changes nothing.
        :returns: (a result for the caller, effects).
        """
        press_id = press_id or new_id()
        if press_id in self._known_ids or (self._persist is None
                                           and self.store.get_event(press_id) is not None):
            return {"press_id": press_id, "duplicate": True, **self.snapshot()}, Effects()
        if self.alarm and self.alarm["state"] in OPEN_STATES:
            return self._press_again(source, press_id)
        countdown = self.config.button_countdown if source == "button" else self.config.countdown
        alarm_id = press_id if countdown == 0 else new_id()
        now = self._now()
        self.alarm = {
            "id": alarm_id, "state": COUNTDOWN, "source": source, "test": int(test),
            "created_at": to_rfc3339(now),
            "countdown_deadline": to_rfc3339(now + dt.timedelta(seconds=countdown)),
            "raised_at": None, "delivered_at": None, "acknowledged_at": None,
            "responder": None, "resolved_at": None, "cancelled_at": None,
            "escalated_at": None, "presses": 1,
        }
        if countdown == 0:
            fx = self._raise(source=source)
        else:
            # Sent (the care centre must know an alarm was started, even if cancelled).
            self._save(
                "sos_countdown", {"seconds": countdown, "test": test},
                source=source, event_id=press_id, occurred_at=now, sync=True,
            )
            self._countdown_ends = self._mono() + countdown
            # Someone who called out may not be able to reach the screen: say how to stop.
            spoken = "sos_countdown_voice" if source == "voice" else "sos_countdown"
            fx = Effects(push=True, sync_urgent=True, say=[(spoken, {"seconds": countdown})])
        return {"press_id": press_id, "duplicate": False, **self.snapshot()}, fx

    def _press_again(self, source: str, press_id: str) -> tuple[dict, Effects]:
        self.alarm = {**self.alarm, "presses": (self.alarm["presses"] or 1) + 1}
        raised = self.alarm["state"] != COUNTDOWN
        # Before the alarm is out there is nothing to tell the platform yet.
        self._save(
            "sos_pressed_again", {"state": self.alarm["state"],
                                  "presses": self.alarm["presses"]},
            source=source, event_id=press_id, sync=raised,
        )
        fx = Effects(push=True, sync_urgent=raised)
        if raised:
            fx.say.append((f"sos_{self.alarm['state']}", self._say_params()))
        return {"press_id": press_id, "duplicate": False, **self.snapshot()}, fx

    def cancel(self, source: str) -> tuple[dict, Effects]:
        """Cancel the countdown. After the alarm is raised, cancel means "I'm safe now"."""
        if not self.alarm:
            return {"cancelled": False, **self.snapshot()}, Effects()
        if self.alarm["state"] != COUNTDOWN:
            return self.resolve(source, reason="cancelled_by_elder")
        self.alarm = {**self.alarm, "state": CANCELLED, "cancelled_at": to_rfc3339(self._now())}
        self._save("sos_cancelled", {}, source=source, sync=True)  # the platform saw the countdown
        self._finish()
        return {"cancelled": True, **self.snapshot()}, Effects(
            push=True, sync_urgent=True, say=[("sos_cancelled", {})], alarm_sound=False)

    def resolve(self, source: str, *, reason: str = "resolved", by: str | None = None,
                event_id: str | None = None) -> tuple[dict, Effects]:
        """The alarm is over (platform closed it, or the elder says they are safe)."""
        if not self.alarm or self.alarm["state"] not in OPEN_STATES:
            return {"resolved": False, **self.snapshot()}, Effects()
        if self.alarm["state"] == COUNTDOWN:
            return self.cancel(source)
        self.alarm = {**self.alarm, "state": RESOLVED, "resolved_at": to_rfc3339(self._now())}
        # The platform must hear it when the elder ends it; when the platform did, it knows.
        self._save(
            "sos_resolved", {"reason": reason, "by": by}, source=source,
            event_id=event_id, sync=source != "platform",
        )
        self._finish()
        return {"resolved": True, **self.snapshot()}, Effects(
            push=True, sync_urgent=source != "platform", say=[("sos_resolved", {})],
            alarm_sound=False)

    # -- sync tells us ------------------------------------------------------------

    def delivered(self, event_ids: list[str]) -> Effects:
        """Sync delivered these outbox items; the alarm is delivered if its raise is among them."""
        if not self.alarm or self.alarm["state"] != RAISED or self.alarm["id"] not in event_ids:
            return Effects()
        now = self._now()
        self.alarm = {**self.alarm, "state": DELIVERED, "delivered_at": to_rfc3339(now)}
        self._save("sos_delivered", {}, source="platform", occurred_at=now)
        self._escalate_at = None
        return Effects(push=True, say=[("sos_delivered", {})], alarm_sound=False)

    def acknowledged(self, sos_id: str, *, responder: str | None, eta: str | None = None,
                     event_id: str | None = None) -> Effects:
        """A person at the platform took the alarm ("help is coming")."""
        if not self.alarm or self.alarm["id"] != sos_id or self.alarm["state"] not in (
                RAISED, DELIVERED):
            log.info("acknowledgement for alarm %s that is not open here; kept in the inbox",
                     sos_id)
            return Effects()
        now = self._now()
        # An acknowledgement proves delivery even if the delivery answer was lost.
        self.alarm = {**self.alarm, "state": ACKNOWLEDGED, "acknowledged_at": to_rfc3339(now),
                      "delivered_at": self.alarm["delivered_at"] or to_rfc3339(now),
                      "responder": responder}
        self._save("sos_acknowledged", {"responder": responder, "eta": eta},
                   source="platform", event_id=event_id, occurred_at=now)
        self._escalate_at = None
        return Effects(push=True, say=[("sos_acknowledged", self._say_params(eta=eta))],
                       alarm_sound=False)

    # -- time passes --------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """Monotonic time of the next countdown end or escalation, or None."""
        times = [t for t in (self._countdown_ends, self._escalate_at) if t is not None]
        return min(times) if times else None

    def on_time(self) -> Effects:
        """Fire whatever timer is due (countdown end, escalation repeat)."""
        mono = self._mono()
        fx = Effects()
        if self._countdown_ends is not None and mono >= self._countdown_ends:
            self._countdown_ends = None
            if self.alarm and self.alarm["state"] == COUNTDOWN:
                fx = fx.merge(self._raise(source=self.alarm["source"]))
        if self._escalate_at is not None and mono >= self._escalate_at:
            fx = fx.merge(self._escalate())
        return fx

    def _raise(self, *, source: str) -> Effects:
        now = self._now()
        self.alarm = {**self.alarm, "state": RAISED, "raised_at": to_rfc3339(now)}
        self._countdown_ends = None
        # The raise event's id is the alarm id: the platform's idempotency key for it.
        self._save(
            "sos_raised",
            {"test": bool(self.alarm["test"]), "source": self.alarm["source"],
             "presses": self.alarm["presses"]},
            source=source, event_id=self.alarm["id"], sync=True, occurred_at=now,
        )
        self._escalate_at = self._mono() + self.config.escalate_after
        log.warning("SOS alarm %s raised (source %s%s)", self.alarm["id"], self.alarm["source"],
                    ", test" if self.alarm["test"] else "")
        return Effects(push=True, sync_urgent=True, say=[("sos_raised", {})])

    def _escalate(self) -> Effects:
        if not self.alarm or self.alarm["state"] != RAISED:
            self._escalate_at = None
            return Effects()
        first = not self.alarm["escalated_at"]
        if first:
            self.alarm = {**self.alarm, "escalated_at": to_rfc3339(self._now())}
            self._save("sos_escalated", {"after_s": self.config.escalate_after},
                       source="hub", sync=True)
            log.error("SOS alarm %s not delivered after %d s: escalating locally",
                      self.alarm["id"], self.config.escalate_after)
        self._escalate_at = self._mono() + self.config.escalate_repeat
        return Effects(push=first, sync_urgent=True, say=[("sos_not_delivered", {})],
                       alarm_sound=True)

    def _finish(self):
        self._last_finished = self.alarm
        self.alarm = None
        self._countdown_ends = None
        self._escalate_at = None

    # -- what clients see ------------------------------------------------------------

    def _say_params(self, eta: str | None = None) -> dict:
        return {"responder": (self.alarm or {}).get("responder") or "", "eta": eta or ""}

    def snapshot(self) -> dict:
        """The alarm as the kiosk, voice and ``hub status`` show it."""
        alarm = self.alarm
        if alarm is None:
            last = self._last_finished
            return {"state": IDLE, "alarm_id": None,
                    "last": {"id": last["id"], "state": last["state"]} if last else None}
        snap = {
            "state": alarm["state"],
            "alarm_id": alarm["id"],
            "source": alarm["source"],
            "test": bool(alarm["test"]),
            "presses": alarm["presses"],
            "created_at": alarm["created_at"],
            "raised_at": alarm["raised_at"],
            "delivered_at": alarm["delivered_at"],
            "acknowledged_at": alarm["acknowledged_at"],
            "responder": alarm["responder"],
            "escalated": bool(alarm["escalated_at"]) and alarm["state"] == RAISED,
            "seconds_left": None,
        }
        if alarm["state"] == COUNTDOWN and self._countdown_ends is not None:
            snap["seconds_left"] = max(0.0, round(self._countdown_ends - self._mono(), 1))
            snap["countdown_deadline"] = alarm["countdown_deadline"]
        return snap
