"""The Raspberry Pi GPIO header: SOS push button, PIR motion sensor, door contact, buzzer, LEDs.

Owns: opening the pins named in ``[gpio]`` through gpiozero; turning the button's
edges into SOS presses and hold-to-cancel; recording door and (rate-limited) motion
events; handing motion and door facts to the care rules; driving the buzzer and the
"alarm open" / "alarm delivered" LEDs from the SOS state; the ``sim.*`` commands
that drive the mock pins under ``--simulate``, and ``gpio.status``.

Does not own: the SOS state machine (:mod:`hub.sos`, reached only through the core),
the care rules (:mod:`hub.rules`; this module only tells them what the sensors saw),
speech, or any wiring advice (``docs/wiring.md``).

Hardware seam (gpiozero's): every device is built with ``pin_factory=``. Under
``[hub] simulate`` that is a fresh ``MockFactory``; otherwise it is gpiozero's
default factory (lgpio on Raspberry Pi OS; the systemd unit sets
``GPIOZERO_PIN_FACTORY=lgpio``), or whatever a test put in ``Device.pin_factory``.
Nothing is touched at import time.

Threads: gpiozero calls back from its own threads. Callbacks only take a monotonic
time stamp and hop to the core's loop with ``call_soon_threadsafe``; debouncing,
press/hold decisions and every store write happen on the loop, output pin writes
in one small worker thread (stopping a blink joins gpiozero's blink thread).

The SOS button, press versus hold (the choice, and why)
-------------------------------------------------------
* **A press that starts an alarm acts at once.** If no countdown is running when the
  button goes down, :meth:`Core.sos_press` is called on the (debounced) down edge —
  never on release, so an elder who presses and keeps pressing is already calling
  for help. Holding on after such a press changes nothing: a frightened person
  holding the button must not cancel their own call.
* **A hold cancels only a countdown that was already running when it began.**
  When the button goes down *during* a countdown, the decision waits: holding it
  ``hold_cancel_s`` seconds cancels the countdown; letting go sooner is a second
  press ("pressed again", recorded by the SOS machine). Waiting is safe here
  because the countdown is already on its way to raising the alarm.
* The cancel is atomic on the store thread: if the countdown has just ended and
  the alarm is raised, a hold does nothing (a raised alarm is ended from the
  screen, never by a long press on the emergency button).
* So to cancel a button alarm by mistake: let go, then press and hold for
  ``hold_cancel_s`` seconds (or press CANCEL on the screen).

Debouncing is done here, in software, the same way on a Pi and on mock pins
(gpiozero's ``MockPin`` ignores ``bounce_time``, and kernel debouncing differs per
pin factory): the first edge acts at once, edges in the next ``bounce_ms`` are
ignored, and at the end of that window the last level seen wins.
"""

import asyncio
import concurrent.futures
import contextlib
import logging
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

from hub.sos import COUNTDOWN

__all__ = [
    "run_gpio",
    "GpioHub",
    "Debouncer",
    "OutputPlan",
    "outputs_for",
    "pin_error_message",
    "MOTION_EVENT_INTERVAL_S",
]

log = logging.getLogger(__name__)

# At most one "motion" event per this many seconds goes to the store and the outbox:
# the platform wants to know the home is lived in, not every wave of an arm. The
# rules still hear every detection.
MOTION_EVENT_INTERVAL_S = 15 * 60
# Polling period for the SOS state while the core offers no change listener.
SOS_POLL_S = 1.0
# How long the simulated PIR keeps its output high after sim.motion (a real
# HC-SR501 holds it for its adjustable delay, 3 s and up).
SIM_MOTION_S = 2.0

# (name, [gpio] key, words for people)
DEVICES = (
    ("sos_button", "sos_button_pin", "SOS button"),
    ("motion", "motion_pin", "motion sensor"),
    ("door", "door_pin", "door contact"),
    ("buzzer", "buzzer_pin", "buzzer"),
    ("alarm_led", "alarm_led_pin", "alarm LED"),
    ("delivered_led", "delivered_led_pin", "delivered LED"),
)
_LABEL = {name: label for name, _, label in DEVICES}
_KEY = {name: key for name, key, _ in DEVICES}


# -- pure parts (tested without pins) ----------------------------------------------


class Debouncer:
    """Leading-edge debounce: the first change acts at once, then ``bounce_s`` of calm.

    Runs on one thread (the core's loop). Edges inside the quiet window are
    remembered, not acted on; when the window ends, the last level seen is compared
    with the accepted one, so a bounce burst that ends released still ends released.

    :param bounce_s: the quiet window in seconds (0 = no debouncing).
    :param on_change: called with the new accepted level (True = active).
    :param call_later: ``(delay, fn) -> handle with .cancel()``, e.g. ``loop.call_later``.
    :param clock: monotonic seconds, the same clock the edge time stamps use.
    :param initial: the level at start.
    """

    def __init__(self, bounce_s: float, on_change: Callable[[bool], None], *,
                 call_later: Callable, clock: Callable[[], float] = time.monotonic,
                 initial: bool = False):
        self.bounce_s = bounce_s
        self.on_change = on_change
        self._call_later = call_later
        self._clock = clock
        self.level = initial
        self._raw = initial
        self._last_change = -math.inf
        self._settle_handle = None

    def edge(self, level: bool, at: float):
        """A raw edge seen at monotonic time ``at``."""
        self._raw = level
        if self._settle_handle is not None:
            return  # inside the quiet window: the settle check will look at _raw
        if level == self.level:
            return
        if at - self._last_change >= self.bounce_s:
            self._accept(level, at)
        else:
            delay = max(0.0, self._last_change + self.bounce_s - self._clock())
            self._settle_handle = self._call_later(delay, self._settle)

    def _settle(self):
        self._settle_handle = None
        if self._raw != self.level:
            self._accept(self._raw, self._clock())

    def _accept(self, level: bool, at: float):
        self.level = level
        self._last_change = at
        self.on_change(level)

    def cancel(self):
        """Forget a pending settle check (when closing)."""
        if self._settle_handle is not None:
            self._settle_handle.cancel()
            self._settle_handle = None


@dataclass(frozen=True)
class OutputPlan:
    """What the buzzer and LEDs should do for one SOS state.

    :ivar alarm_led: ``off``, ``blink`` (countdown) or ``on`` (alarm open).
    :ivar delivered_led: lit once the platform has the alarm.
    :ivar buzzer: beeping: the alarm is raised but not delivered after ``escalate_after``.
    """

    alarm_led: str = "off"
    delivered_led: bool = False
    buzzer: bool = False


def outputs_for(snapshot: dict) -> OutputPlan:
    """Map an SOS snapshot (:meth:`hub.sos.SosMachine.snapshot`) to the outputs.

    The buzzer follows the core's local escalation (the spoken "not received yet"
    and the alarm sound), so neighbours hear it exactly when the network failed
    the elder; it stays silent during the countdown, which speech already covers.
    """
    state = snapshot.get("state") or "idle"
    if state == "countdown":
        return OutputPlan(alarm_led="blink")
    if state == "raised":
        return OutputPlan(alarm_led="on", buzzer=bool(snapshot.get("escalated")))
    if state in ("delivered", "acknowledged"):
        return OutputPlan(alarm_led="on", delivered_led=True)
    return OutputPlan()


def pin_error_message(label: str, pin: int, exc: BaseException) -> str:
    """Words for a technician when a pin cannot be opened.

    :param label: what is wired there, e.g. "SOS button".
    :param pin: the BCM pin number.
    :param exc: what gpiozero or the pin library raised.
    """
    from gpiozero.exc import PinFixedPull, PinInvalidPin

    detail = f"({type(exc).__name__}: {exc})"
    if isinstance(exc, PinFixedPull):
        return (f"GPIO pin {pin} ({label}) has a fixed pull-up resistor on this board "
                f"(GPIO 2 and 3 are the I2C pins): wire the {label} to another pin and "
                f"change [gpio] in the config. {detail}")
    if isinstance(exc, PinInvalidPin):
        return (f"GPIO pin {pin} ({label}) does not exist on this board: check the BCM "
                f"number in [gpio]. {detail}")
    return (f"GPIO pin {pin} ({label}) is busy or not accessible: is another program "
            f"using it? Is the hub user in the 'gpio' group? The hub keeps running "
            f"without the {label}. {detail}")


def _pin_conflicts(gpio_cfg, source: str) -> dict[str, str]:
    """Devices whose pin is already taken by another [gpio] key, with the reason."""
    owner: dict[int, str] = {}
    errors = {}
    for name, key, label in DEVICES:
        pin = getattr(gpio_cfg, key)
        if pin < 0:
            continue
        if pin in owner:
            errors[name] = (f"[gpio] {key} = {pin} is also {owner[pin]} in {source}: "
                            f"each device needs its own pin; the {label} is not used.")
        else:
            owner[pin] = f"[gpio] {key}"
    return errors


# -- the devices -----------------------------------------------------------------------


class GpioHub:
    """The GPIO devices of one hub, wired to the core.

    Create on the core's loop, then ``await hub.run()`` (it opens the pins, serves
    until cancelled, and closes them).

    :param core: the running :class:`hub.core.Core`.
    :param pin_factory: a gpiozero pin factory; None = gpiozero's default
        (``Device.pin_factory``, set by tests, or lgpio on a Pi).
    :param motion_event_interval: seconds between recorded "motion" events.
    """

    def __init__(self, core, *, pin_factory=None,
                 motion_event_interval: float = MOTION_EVENT_INTERVAL_S):
        self.core = core
        self.config = core.config.gpio
        self.factory = pin_factory
        self.motion_event_interval = motion_event_interval
        self.devices: dict[str, object] = {}
        self.errors: dict[str, str] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._button_events: asyncio.Queue | None = None
        self._jobs: asyncio.Queue | None = None
        self._button_db: Debouncer | None = None
        self._door_db: Debouncer | None = None
        self._ready: asyncio.Event | None = None
        self._hold_handle: asyncio.TimerHandle | None = None
        self._decide_on_release = False
        self._last_motion_event: float | None = None
        self._plan = None
        self._closed = False
        self._out = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="gpio-out")

    # -- what is there ---------------------------------------------------------------

    @property
    def button(self):
        """The SOS ``gpiozero.Button``, or None."""
        return self.devices.get("sos_button")

    @property
    def motion(self):
        """The ``gpiozero.MotionSensor``, or None."""
        return self.devices.get("motion")

    @property
    def door(self):
        """The door contact (a ``gpiozero.Button``: pressed = door shut), or None."""
        return self.devices.get("door")

    @property
    def has_motion_sensor(self) -> bool:
        """True when a PIR is open: the inactivity rule has nothing to go on without one."""
        return self.motion is not None

    @property
    def door_open(self) -> bool | None:
        """The debounced door state, or None without a door contact."""
        return None if self._door_db is None else not self._door_db.level

    # -- opening -----------------------------------------------------------------------

    def _resolve_factory(self) -> str | None:
        """Make sure there is a pin factory; return an error text if there is none."""
        if self.factory is not None:
            return None
        from gpiozero import Device

        # gpiozero tries lgpio, RPi.GPIO, pigpio, native in turn and warns for each
        # failure; keep those reasons for the one message a technician reads.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                Device.ensure_pin_factory()
            except Exception as exc:
                tried = "; ".join([str(w.message) for w in caught] + [str(exc)])
                hint = ""
                if ".lgd-nfy" in tried:
                    # lgpio makes its notification pipes in the working directory
                    # (joan2937/lg#12, gpiozero#1106): "/" is read-only under systemd.
                    hint = ("lgpio needs a writable working directory: set "
                            "WorkingDirectory=/var/lib/hub or Environment=LG_WD=/var/lib/hub "
                            "in the hub-core unit. ")
                return ("No GPIO pins on this machine (" + tried + "). " + hint +
                        "On a Raspberry Pi: install python3-lgpio and add the hub user to "
                        "the 'gpio' group. On a laptop: run with --simulate, or set [gpio] "
                        "enabled = false. The hub keeps running without the button and "
                        "sensors.")
        for w in caught:
            # Only fallbacks warn: worth a line when a Pi ends up on a lesser driver.
            log.warning("gpiozero: %s", w.message)
        self.factory = Device.pin_factory
        return None

    def open(self):
        """Open every configured device; a device that fails is logged and left out.

        :returns: an error text when no pins can be used at all, else None.
        """
        error = self._resolve_factory()
        if error:
            return error
        from gpiozero import LED, Button, Buzzer, MotionSensor

        cfg = self.config
        self.errors = _pin_conflicts(cfg, self.core.config.source)
        makers = {
            # bounce_time=None: debouncing is ours (see the module docstring).
            "sos_button": lambda pin: Button(pin, pull_up=True, bounce_time=None,
                                             pin_factory=self.factory),
            # The PIR drives its output actively; the pull-down only keeps an
            # unplugged sensor from reading as motion.
            "motion": lambda pin: MotionSensor(pin, pull_up=False, pin_factory=self.factory),
            # Reed contact to ground: closed (magnet near, door shut) reads low = "pressed".
            "door": lambda pin: Button(pin, pull_up=True, bounce_time=None,
                                       pin_factory=self.factory),
            "buzzer": lambda pin: Buzzer(pin, pin_factory=self.factory),
            "alarm_led": lambda pin: LED(pin, pin_factory=self.factory),
            "delivered_led": lambda pin: LED(pin, pin_factory=self.factory),
        }
        for name, key, label in DEVICES:
            pin = getattr(cfg, key)
            if pin < 0 or name in self.errors:
                continue
            try:
                self.devices[name] = makers[name](pin)
            except Exception as exc:
                self.errors[name] = pin_error_message(label, pin, exc)
        for name, message in self.errors.items():
            log.error("%s", message)
        opened = ", ".join(f"{_LABEL[n]} on GPIO {getattr(cfg, _KEY[n])}" for n in self.devices)
        log.info("GPIO (%s): %s", type(self.factory).__name__, opened or "no devices")
        return None

    def _stop_timers(self):
        """On the loop: drop pending hold and settle timers."""
        self._closed = True
        if self._hold_handle:
            self._hold_handle.cancel()
        for deb in (self._button_db, self._door_db):
            if deb:
                deb.cancel()

    def close(self):
        """Release every pin (gpiozero stops its threads); blocking, so not on the loop."""
        for name, dev in list(self.devices.items()):
            try:
                dev.close()
            except Exception:
                log.exception("closing the %s failed", _LABEL[name])
        self.devices.clear()
        self._out.shutdown(wait=True)

    # -- running -----------------------------------------------------------------------

    async def run(self):
        """Open the pins, serve the devices until cancelled, then release the pins."""
        self._loop = asyncio.get_running_loop()
        self._button_events = asyncio.Queue()
        self._jobs = asyncio.Queue()
        self._ready = asyncio.Event()
        # Commands first (before the first await), so a client never meets
        # "unknown command" while the pins are opening; they wait for _ready.
        self.core.register_command("gpio.status", self._cmd_status,
                                   "GPIO devices, their pins, errors, inputs and outputs")
        if self.core.config.hub.simulate:
            self._register_simulator()
        try:
            # Opening touches /dev/gpiochip and starts gpiozero threads: off the loop.
            error = await self._loop.run_in_executor(None, self.open)
            if error:
                self.errors["factory"] = error
                log.error("%s", error)
                return  # nothing to serve; the supervisor must not restart us in a loop
            self._wire_inputs()
            self.core.gpio = self
            self._ready.set()
            await asyncio.gather(self._button_worker(), self._job_worker(),
                                 self._follow_sos())
        finally:
            self._ready.set()  # waiting commands answer (with the error) instead of hanging
            if getattr(self.core, "gpio", None) is self:
                self.core.gpio = None
            remove_listener = getattr(self.core, "remove_listener", None)
            if remove_listener is not None:
                with contextlib.suppress(Exception):
                    remove_listener("sos", self._show)
            self._stop_timers()
            await self._loop.run_in_executor(None, self.close)

    def _from_thread(self, fn: Callable, *args):
        """Hand a gpiozero callback over to the loop; never block gpiozero's thread."""
        loop = self._loop
        if self._closed or loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop is closing
            loop.call_soon_threadsafe(fn, *args)

    def _wire_inputs(self):
        bounce = self.config.bounce_ms / 1000
        if self.button is not None:
            if self.button.is_pressed:
                log.warning("the SOS button reads pressed at start: is it stuck, or wired "
                            "normally-closed? It must connect its pin to ground only "
                            "while pressed (see docs/wiring.md)")
            self._button_db = Debouncer(bounce, self._button_changed,
                                        call_later=self._loop.call_later,
                                        initial=self.button.is_pressed)
            self.button.when_pressed = lambda: self._from_thread(
                self._button_db.edge, True, time.monotonic())
            self.button.when_released = lambda: self._from_thread(
                self._button_db.edge, False, time.monotonic())
        if self.door is not None:
            if self.core.config.hub.simulate:
                self.door.pin.drive_low()  # the simulated home starts with its door shut
            closed = self.door.is_pressed
            self._door_db = Debouncer(bounce, self._door_changed,
                                      call_later=self._loop.call_later, initial=closed)
            log.info("door is %s", "shut" if closed else "open")
            self.door.when_pressed = lambda: self._from_thread(
                self._door_db.edge, True, time.monotonic())
            self.door.when_released = lambda: self._from_thread(
                self._door_db.edge, False, time.monotonic())
        if self.motion is not None:
            self.motion.when_motion = lambda: self._from_thread(
                self._motion_seen, time.monotonic())

    # -- the SOS button (on the loop) -----------------------------------------------------

    def _button_changed(self, pressed: bool):
        if self._hold_handle:
            self._hold_handle.cancel()
            self._hold_handle = None
        if pressed:
            self._hold_handle = self._loop.call_later(
                self.config.hold_cancel_s, self._button_events.put_nowait, "held")
        self._button_events.put_nowait("down" if pressed else "up")

    async def _button_worker(self):
        """Turn debounced button events into SOS calls, one at a time, in order."""
        while True:
            event = await self._button_events.get()
            try:
                await self._button_event(event)
            except Exception:
                log.exception("the SOS button's %s could not be handled", event)

    async def _button_event(self, event: str):
        core = self.core
        if event == "down":
            try:
                # The SOS machine lives on the loop: never wait on the store for it
                # (a stalled card must not hold up the button).
                state = core.sos.snapshot()["state"]
            except Exception:
                # Not knowing the state must never swallow a press: press anyway
                # (the SOS machine turns an extra press into "pressed again").
                log.exception("could not read the SOS state; treating the button as a press")
                state = None
            self._decide_on_release = state == COUNTDOWN
            if not self._decide_on_release:
                log.info("SOS button pressed")
                self._show(await core.sos_press("button"))
        elif event == "held" and self._decide_on_release:
            self._decide_on_release = False
            result = await self._cancel_countdown()
            if result is None:
                log.info("SOS button held, but the countdown had already ended: no change")
            else:
                log.info("SOS button held %.1f s: countdown cancelled",
                         self.config.hold_cancel_s)
                self._show(result)
        elif event == "up" and self._decide_on_release:
            self._decide_on_release = False
            log.info("SOS button pressed again during the countdown")
            self._show(await core.sos_press("button"))

    async def _cancel_countdown(self) -> dict | None:
        """Cancel the SOS only if it is still counting down (atomically, in the core).

        Checking the state first and then cancelling would race the countdown's end,
        and cancelling a raised alarm ends it.
        """
        return await self.core.sos_cancel("button", countdown_only=True)

    # -- motion and door (on the loop) ------------------------------------------------------

    def _motion_seen(self, at: float):
        rules = getattr(self.core, "rules", None)
        if rules is not None:
            rules.on_motion()
        last = self._last_motion_event
        if last is None or at - last >= self.motion_event_interval:
            self._last_motion_event = at
            self._jobs.put_nowait((self._record, "motion", {}))

    def _door_changed(self, closed: bool):
        is_open = not closed
        log.info("door %s", "opened" if is_open else "shut")
        self._jobs.put_nowait((self._record, "door", {"open": is_open}))
        self._jobs.put_nowait((self._tell_rules_door, is_open))

    async def _record(self, kind: str, data: dict):
        await self.core.record_event(kind, data, source="hub")

    async def _tell_rules_door(self, is_open: bool):
        rules = getattr(self.core, "rules", None)
        if rules is not None:
            await rules.on_door(is_open)

    async def _job_worker(self):
        """Record sensor facts in the order they happened, without holding up the button."""
        while True:
            fn, *args = await self._jobs.get()
            try:
                await fn(*args)
            except Exception:
                log.exception("a %s fact could not be handled", getattr(fn, "__name__", fn))

    # -- outputs follow the SOS state -----------------------------------------------------

    async def _follow_sos(self):
        """Keep the buzzer and LEDs in step with the SOS state."""
        core = self.core
        outputs = [n for n in ("buzzer", "alarm_led", "delivered_led") if n in self.devices]
        if not outputs:
            return
        self._show(await core.db(core.sos.snapshot))
        add_listener = getattr(core, "add_listener", None)
        if add_listener is not None:
            add_listener("sos", self._show)
            await asyncio.Event().wait()  # the listener does the work from now on
        # The SOS machine belongs to the store thread, so ask it there.
        while True:
            await asyncio.sleep(SOS_POLL_S)
            self._show(await core.db(core.sos.snapshot))

    def _show(self, snapshot: dict):
        """Set the outputs for an SOS snapshot (or a press/cancel result, which holds one)."""
        plan = outputs_for(snapshot)
        if plan == self._plan or self._closed:
            return
        self._plan = plan
        self._loop.run_in_executor(self._out, self._apply, plan).add_done_callback(
            _log_failure)

    def _apply(self, plan: OutputPlan):
        """On the output thread: write the pins."""
        led = self.devices.get("alarm_led")
        if led is not None:
            if plan.alarm_led == "blink":
                led.blink(on_time=0.25, off_time=0.25)
            elif plan.alarm_led == "on":
                led.on()
            else:
                led.off()
        delivered = self.devices.get("delivered_led")
        if delivered is not None:
            delivered.on() if plan.delivered_led else delivered.off()
        buzzer = self.devices.get("buzzer")
        if buzzer is not None:
            buzzer.beep(on_time=0.5, off_time=0.5) if plan.buzzer else buzzer.off()

    # -- local API -----------------------------------------------------------------------

    async def _cmd_status(self) -> dict:
        await asyncio.wait_for(self._ready.wait(), 15)
        devices = {}
        for name, key, _ in DEVICES:
            pin = getattr(self.config, key)
            devices[name] = {"pin": pin, "fitted": pin >= 0, "open": name in self.devices,
                             "error": self.errors.get(name)}
        out = {}
        for name in ("buzzer", "alarm_led", "delivered_led"):
            dev = self.devices.get(name)
            out[name] = None if dev is None else bool(dev.value)
        return {
            "factory": type(self.factory).__name__ if self.factory else None,
            "error": self.errors.get("factory"),
            "devices": devices,
            "inputs": {
                "button_pressed": None if self._button_db is None else self._button_db.level,
                "motion": None if self.motion is None else bool(self.motion.motion_detected),
                "door_open": self.door_open,
            },
            "outputs": out,
            "plan": None if self._plan is None else {
                "alarm_led": self._plan.alarm_led, "delivered_led": self._plan.delivered_led,
                "buzzer": self._plan.buzzer},
        }

    def _register_simulator(self):
        reg = self.core.register_command
        reg("sim.button", self._sim_button,
            "drive the mock SOS button (args: action press|down|release|hold, seconds)")
        reg("sim.motion", self._sim_motion,
            "drive the mock PIR output high for a while (args: seconds)")
        reg("sim.door", self._sim_door, "open or shut the mock door contact (args: open bool)")

    async def _mock_pin(self, name: str):
        await asyncio.wait_for(self._ready.wait(), 15)
        dev = self.devices.get(name)
        if dev is None:
            why = self.errors.get(name) or f"[gpio] {_KEY[name]} = -1 (not fitted)"
            raise ValueError(f"no {_LABEL[name]} to drive: {why}")
        pin = dev.pin
        if not hasattr(pin, "drive_low"):
            raise ValueError("sim.* commands need mock pins (run the core with --simulate)")
        return pin

    async def _sim_button(self, action: str = "press", seconds: float | None = None) -> dict:
        """Press like a person: ``press`` = down and up, ``hold`` = down for a while."""
        pin = await self._mock_pin("sos_button")
        if action == "down":
            pin.drive_low()
        elif action in ("release", "up"):
            pin.drive_high()
        elif action in ("press", "hold"):
            if seconds is None:
                seconds = 0.2 if action == "press" else self.config.hold_cancel_s + 0.5
            if not isinstance(seconds, (int, float)) or not 0 <= seconds <= 30:
                raise ValueError("seconds must be a number from 0 to 30")
            pin.drive_low()
            try:
                await asyncio.sleep(seconds)
            finally:
                pin.drive_high()
        else:
            raise ValueError("action must be one of press, down, release, hold")
        return {"action": action}

    async def _sim_motion(self, seconds: float = SIM_MOTION_S) -> dict:
        pin = await self._mock_pin("motion")
        if not isinstance(seconds, (int, float)) or not 0.2 <= seconds <= 600:
            raise ValueError("seconds must be a number from 0.2 to 600")
        pin.drive_high()
        self._loop.call_later(seconds, pin.drive_low)
        return {"seconds": seconds}

    async def _sim_door(self, open: bool = True) -> dict:  # noqa: A002 (API argument name)
        pin = await self._mock_pin("door")
        if not isinstance(open, bool):
            raise ValueError("open must be true or false")
        # Reed contact to ground with a pull-up: open door = high.
        pin.drive_high() if open else pin.drive_low()
        return {"open": open}


def _log_failure(future: concurrent.futures.Future | asyncio.Future):
    if not future.cancelled() and future.exception():
        log.error("setting the GPIO outputs failed", exc_info=future.exception())


async def run_gpio(core, *, pin_factory=None) -> None:
    """The core extension: serve the GPIO devices named in ``[gpio]``.

    :param core: the running core.
    :param pin_factory: a gpiozero pin factory to use; None picks a ``MockFactory``
        under ``[hub] simulate`` and gpiozero's default otherwise.
    """
    if pin_factory is None and core.config.hub.simulate:
        from gpiozero.pins.mock import MockFactory

        pin_factory = MockFactory()
    await GpioHub(core, pin_factory=pin_factory).run()
