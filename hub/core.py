"""The hub core: a headless asyncio daemon that owns the database and the devices.

It runs the SOS state machine, the care rules and the sync worker, and serves the
local API (JSON lines over a Unix socket, see :mod:`hub.api`) to the kiosk and the
voice process, pushing state changes to them.

Threads: the asyncio loop (socket, timers, BLE); one *store thread* that does every
SQLite write with fsync (never on the loop); the sync worker's thread; the speech
thread. A background task that fails is logged and restarted with backoff; one bad
device never takes the core down.

The safety path — button/voice/touch → :meth:`Core.sos_press` → store → outbox →
sync — imports nothing from the kiosk, the voice recogniser or Bluetooth.
"""

import asyncio
import concurrent.futures
import contextlib
import grp
import json
import logging
import os
import signal
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from hub import __version__
from hub.api import COMMANDS, MAX_LINE, TOPICS, encode
from hub.clock import new_id
from hub.config import Config
from hub.errors import ApiError, HubError, StorageFullError
from hub.phrases import phrase
from hub.sos import Effects, SosMachine
from hub.status import collect_status
from hub.store import PRIORITY_ALERT, Store
from hub.systemd_notify import notify, watchdog_interval
from hub.voice.speech import URGENT, Speaker

__all__ = ["Core", "run_core"]

log = logging.getLogger(__name__)

# Care events other processes (voice, kiosk) may record through the API.
CLIENT_EVENT_KINDS = {
    "alert": PRIORITY_ALERT,
    "service_request": 5,
    "feedback": 5,
    "checkin_answer": PRIORITY_ALERT,
    "message_read": 5,
}
SETTINGS = {
    "language": ("en", "zh_CN", "ko"),
    "text_size": ("normal", "large", "largest"),
    "elder_name": str,
    "volume": float,
    "speech_rate": int,
}
_CLIENT_QUEUE = 256


class _Client:
    """One connected kiosk/voice/CLI client and its bounded push queue."""

    def __init__(self, writer: asyncio.StreamWriter):
        self.writer = writer
        self.topics: set[str] = set()
        self.queue: asyncio.Queue = asyncio.Queue(maxsize=_CLIENT_QUEUE)


class Core:
    """The daemon. Create, then ``await core.run()``; ``core.request_stop()`` ends it.

    :param config: validated configuration.
    :param speaker: the speech output (default: built from ``[audio]``).
    :param start_sync: start the sync worker (tests of the core alone can turn it off).
    """

    def __init__(self, config: Config, *, speaker: Speaker | None = None,
                 start_sync: bool = True):
        self.config = config
        self.language = config.hub.language
        self._store_thread = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="store")
        self.store: Store | None = None
        self.sos: SosMachine | None = None
        self.speaker = speaker
        self._start_sync = start_sync
        self.sync = None
        self._clients: set[_Client] = set()
        self._server: asyncio.base_events.Server | None = None
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sos_timer: asyncio.TimerHandle | None = None
        self._tasks: list[asyncio.Task] = []
        self.sync_status: dict = {"state": "not_configured", "message": "sync not started"}
        self.started: asyncio.Event | None = None  # set once serving
        self.extensions: list[Callable[["Core"], Awaitable[None]]] = []
        self._extra_commands: dict[str, tuple[Callable[..., Awaitable], str]] = {}
        self._prompts: dict[str, tuple[dict, asyncio.Future]] = {}
        self._listeners: dict[str, list[Callable[[dict], None]]] = {}
        self.rules = None  # hub.rules.CareRules, set by run_rules
        self.gpio = None  # hub.sensors.gpio, set by run_gpio while pins are open
        self.ble = None  # hub.sensors.ble.service.BleService, set by run_ble

    # -- running ------------------------------------------------------------------

    async def db(self, fn: Callable, *args, **kwargs):
        """Run ``fn`` on the store thread (all SQLite work goes there, never on the loop)."""
        return await self._loop.run_in_executor(
            self._store_thread, lambda: fn(*args, **kwargs))

    async def run(self, *, ready: Callable[[], None] | None = None):
        """Open everything, serve until asked to stop, then close cleanly."""
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self.started = asyncio.Event()
        # First thing: a SIGTERM during start-up must still mean a clean stop.
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                self._loop.add_signal_handler(signum, self.request_stop)
        cfg = self.config
        cfg.state_dir.mkdir(parents=True, exist_ok=True)
        self._check_not_running()
        self.store = await self.db(
            Store, cfg.db_path, reserve_bytes=cfg.store.reserve_mb * 1024 * 1024)
        self.language = await self.db(self.store.get_setting, "language", cfg.hub.language)
        self.sos = SosMachine(self.store, cfg.sos)
        if self.speaker is None:
            self.speaker = Speaker(self.language, engine=cfg.audio.speech_engine,
                                   rate=cfg.audio.rate, volume=cfg.audio.volume,
                                   alarm_wav=cfg.state_dir / "alarm.wav")
        self.speaker.on_said = self._said_from_thread
        self.speaker.start()
        rate = await self.db(self.store.get_setting, "speech_rate", None)
        volume = await self.db(self.store.get_setting, "volume", None)
        if rate is not None or volume is not None:
            self.speaker.configure(rate=rate, volume=volume)
        # Recover the alarm before anyone can press: a press must see an open alarm.
        fx = await self.db(self.sos.load)
        await self._after_sos(fx)
        await self._open_socket()
        if self._start_sync:
            self._start_sync_worker()
        self._spawn("retention", self._retention_loop)
        interval = watchdog_interval() if cfg.hub.watchdog else None
        if interval:
            self._spawn("watchdog", lambda: self._watchdog_loop(interval))
        for ext in self.extensions:
            self._spawn(getattr(ext, "__name__", "extension"), lambda ext=ext: ext(self))
        notify("READY=1", f"STATUS=serving on {cfg.socket_path}")
        log.info("hub core %s ready: socket %s, database %s", __version__, cfg.socket_path,
                 cfg.db_path)
        self.started.set()
        if ready:
            ready()
        try:
            await self._stop.wait()
        finally:
            await self._shutdown()

    def request_stop(self):
        """Ask the core to shut down (SIGTERM does the same)."""
        if self._stop and not self._stop.is_set():
            log.info("stopping")
            notify("STOPPING=1")
            self._stop.set()

    async def _shutdown(self):
        """Stop serving, stop the parts, finish queued writes, close the DB.

        Each step has a time limit and a log line, so a part that hangs cannot keep the
        core from exiting (systemd would SIGKILL it, which is safe but slower).
        """
        if self._sos_timer:
            self._sos_timer.cancel()
        if self._server:
            self._server.close()
        for client in list(self._clients):
            client.writer.close()
        # Short tasks already under way (a sensor's event being recorded, a request
        # being answered) finish first: a fact sensed before SIGTERM is not lost.
        current = asyncio.current_task()
        in_flight = [t for t in asyncio.all_tasks() if t is not current and t not in self._tasks]
        if in_flight:
            await asyncio.wait(in_flight, timeout=2)
        for task in self._tasks:
            task.cancel()
        _, stuck = await asyncio.wait(self._tasks, timeout=5) if self._tasks else (None, [])
        for task in stuck:
            log.warning("background task %s did not stop within 5 s", task.get_name())
        steps = [("sync worker", self.sync.stop if self.sync else None),
                 ("speech", self.speaker.stop if self.speaker else None)]
        for name, stop in steps:
            if stop is None:
                continue
            try:
                await asyncio.wait_for(self._loop.run_in_executor(None, stop), timeout=6)
            except asyncio.TimeoutError:
                log.warning("%s did not stop within 6 s", name)
        # Every write already committed with fsync; finish the queued ones, then close.
        await self.db(self.store.close)
        self._store_thread.shutdown(wait=True)
        with contextlib.suppress(FileNotFoundError):
            self.config.socket_path.unlink()
        log.info("hub core stopped")

    def _spawn(self, name: str, factory: Callable[[], Awaitable[None]]):
        self._tasks.append(asyncio.create_task(self._supervise(name, factory), name=name))

    async def _supervise(self, name: str, factory: Callable[[], Awaitable[None]]):
        """Run a background task forever: log a failure with context and restart it."""
        delay = 1.0
        while True:
            started = time.monotonic()
            try:
                await factory()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background task %s failed; restarting in %.0f s", name, delay)
            if time.monotonic() - started > 60:
                delay = 1.0
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60.0)

    async def _retention_loop(self):
        from datetime import timedelta

        keep = timedelta(days=self.config.store.retention_days)
        while True:
            await self.db(self.store.prune, older_than=keep)
            await asyncio.sleep(3600)

    async def _watchdog_loop(self, interval: float):
        while True:
            # Ping only if the store thread answers too: a stuck writer must trip the watchdog.
            await asyncio.wait_for(self.db(lambda: None), timeout=interval)
            notify("WATCHDOG=1")
            await asyncio.sleep(interval)

    # -- sync ---------------------------------------------------------------------

    def _start_sync_worker(self):
        try:
            from hub.sync.worker import SyncWorker
        except ImportError as exc:  # the safety path still records alarms without sync
            log.error("sync is not available (%s); alarms are stored but not sent", exc)
            return
        self.sync = SyncWorker(
            self.config,
            on_delivered=lambda ids: self._threadsafe(self._on_delivered(ids)),
            apply_inbox=self._apply_inbox_from_thread,
            on_status=lambda st: self._threadsafe(self._on_sync_status(st)),
            on_sos_refused=lambda eid, body, reason: self._threadsafe(
                self._on_sos_refused(eid, body, reason)),
        )
        self.sync.start()
        self.sync.set_sos_open(self.sos.alarm is not None)

    def _threadsafe(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    async def _on_delivered(self, ids: list[str]):
        fx, snap, deadline = await self.db(self._sos_call, self.sos.delivered, ids)
        await self._after_sos(fx, snap, deadline)

    async def _on_sync_status(self, status: dict):
        self.sync_status = status
        self._push("sync", status)

    async def _on_sos_refused(self, event_id: str, body: dict, reason: str):
        """The platform refused an SOS (sync keeps resending it minimal): say so aloud."""
        if isinstance(body, dict) and body.get("type") in ("sos_cancelled", "sos_resolved",
                                                           "sos_countdown"):
            return  # not an alarm calling for help: `hub status` shows it
        log.error("the care platform refused SOS event %s; telling the elder to phone",
                  event_id)
        self.speaker.say(phrase("sos_refused", self.language), priority=URGENT)

    def _apply_inbox_from_thread(self, message: dict):
        """Called by the sync thread; returns once the message is durably applied."""
        self._threadsafe(self.apply_inbox(message)).result(timeout=30)

    async def apply_inbox(self, message: dict):
        """Store a platform message once and act on it (SOS acknowledged, resolved…)."""
        kind, data = message.get("kind"), message.get("data") or {}
        effects: list[Effects] = []

        def apply():
            if kind == "sos_ack":
                effects.append(self.sos.acknowledged(
                    data.get("sos_id"), responder=data.get("responder"), eta=data.get("eta")))
            elif kind == "sos_resolved" and self.sos.alarm and \
                    self.sos.alarm["id"] == data.get("sos_id"):
                effects.append(self.sos.resolve("platform", by=data.get("by"))[1])

        def op():
            new = self.store.inbox_add(message, apply=apply)
            return new, *self._sos_snapshot()

        new, snap, deadline = await self.db(op)
        for fx in effects:
            await self._after_sos(fx, snap, deadline)
        if new:
            self._push("inbox", {"id": message["id"], "kind": kind, "data": data})

    # -- SOS ----------------------------------------------------------------------

    def _sos_snapshot(self):
        return self.sos.snapshot(), self.sos.next_deadline()

    def _sos_call(self, fn, *args, **kwargs):
        """On the store thread: run a machine method, return (result…, snapshot, deadline)."""
        out = fn(*args, **kwargs)
        return out, *self._sos_snapshot()

    async def sos_press(self, source: str, *, press_id: str | None = None,
                        test: bool = False) -> dict:
        """Press SOS. Returns after the press is durable in the database."""
        (result, fx), snap, deadline = await self.db(
            self._sos_call, self.sos.press, source, press_id=press_id, test=test)
        await self._after_sos(fx, snap, deadline)
        return result

    async def sos_cancel(self, source: str, *, countdown_only: bool = False) -> dict:
        """Cancel the countdown (or end a raised alarm: "I'm safe now").

        :param countdown_only: do nothing unless a countdown is running (checked on the
            store thread, so it cannot race the countdown's end). A held GPIO button uses it.
        """
        def cancel():
            if countdown_only and (not self.sos.alarm or self.sos.alarm["state"] != "countdown"):
                return {"cancelled": False, **self.sos.snapshot()}, Effects()
            return self.sos.cancel(source)

        (result, fx), snap, deadline = await self.db(self._sos_call, cancel)
        await self._after_sos(fx, snap, deadline)
        return result

    async def sos_resolve(self, source: str) -> dict:
        """End an open alarm."""
        (result, fx), snap, deadline = await self.db(self._sos_call, self.sos.resolve, source)
        await self._after_sos(fx, snap, deadline)
        return result

    async def _sos_tick(self):
        fx, snap, deadline = await self.db(self._sos_call, self.sos.on_time)
        await self._after_sos(fx, snap, deadline)

    async def _after_sos(self, fx: Effects, snap: dict | None = None,
                         deadline: float | None = None):
        """Carry out a transition's effects on the loop, and re-arm the SOS timer."""
        if snap is None:
            snap, deadline = await self.db(self._sos_snapshot)
        if fx.sync_urgent and self.sync:
            self.sync.wake(urgent=True)
        if self.sync:
            self.sync.set_sos_open(snap["state"] != "idle")
        if fx.push:
            self._push("sos", snap)
        for key, params in fx.say:
            self.speaker.say(phrase(key, self.language, **params))
        if fx.alarm_sound is not None:
            self.speaker.alarm(fx.alarm_sound)
        if self._sos_timer:
            self._sos_timer.cancel()
            self._sos_timer = None
        if deadline is not None:
            delay = max(0.0, deadline - time.monotonic())
            self._sos_timer = self._loop.call_later(
                delay, lambda: self._spawn_once(self._sos_tick()))

    def _spawn_once(self, coro):
        task = asyncio.create_task(coro)
        task.add_done_callback(self._log_task_error)

    @staticmethod
    def _log_task_error(task: asyncio.Task):
        if not task.cancelled() and task.exception():
            log.error("SOS timer failed", exc_info=task.exception())

    # -- other facts --------------------------------------------------------------

    async def record_event(self, kind: str, data: dict | None = None, *,
                           event_id: str | None = None, source: str = "hub",
                           priority: int = 5) -> dict:
        """Record a care event (check-in, alert…) durably and hand it to sync."""
        event = await self.db(self.store.record_event, kind, data or {}, event_id=event_id,
                              source=source, priority=priority)
        if self.sync:
            self.sync.wake(urgent=priority <= PRIORITY_ALERT)
        return event

    async def add_reading(self, reading: dict) -> dict | None:
        """Store a health reading before anything else uses it, then push it.

        Screened first by :func:`hub.plausibility.screen` (the one table for the API and
        Bluetooth): an impossible value raises ``ImpossibleReading`` (a ValueError, so the
        API answers ``bad_request``) and nothing is stored; a rare one is stored flagged.
        """
        from hub.plausibility import screen

        stored = await self.db(self.store.add_reading, screen(reading))
        if stored:
            self._push("reading", stored)
            if self.sync:
                self.sync.wake()
        return stored

    # -- questions to the elder (check-in prompts) -----------------------------------

    async def ask(self, kind: str, question_key: str, *, answers=("yes", "no"),
                  timeout: float | None = None, **params) -> str | None:
        """Put a full-screen question on the kiosk, say it, and wait for the answer.

        :param kind: what asks, e.g. ``inactivity``; recorded with the answer.
        :param question_key: a phrase key in :mod:`hub.phrases`.
        :param answers: answer keys the kiosk shows as two huge buttons.
        :param timeout: seconds to wait; None waits for ever.
        :returns: the answer key, or None when nobody answered in time.
        """
        prompt = {"id": new_id(), "kind": kind, "question_key": question_key,
                  "question": phrase(question_key, self.language, **params),
                  "answers": list(answers), "open": True}
        future = self._loop.create_future()
        self._prompts[prompt["id"]] = (prompt, future)
        self._push("prompt", prompt)
        self.speaker.say(prompt["question"])
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except asyncio.TimeoutError:
            return None
        finally:
            self._prompts.pop(prompt["id"], None)
            self._push("prompt", {"id": prompt["id"], "open": False})

    def register_command(self, name: str, handler: Callable[..., Awaitable], help: str):
        """Let a part of the core (GPIO, BLE, simulators) serve a local API command.

        :param handler: ``async def handler(**args) -> result``.
        """
        self._extra_commands[name] = (handler, help)

    # -- pushes -------------------------------------------------------------------

    def add_listener(self, topic: str, callback: Callable[[dict], None]):
        """Call ``callback(data)`` on the loop for every push of ``topic`` (e.g. LEDs on "sos").

        The callback must be quick and must not block; an exception in it is logged.
        """
        self._listeners.setdefault(topic, []).append(callback)

    def remove_listener(self, topic: str, callback: Callable[[dict], None]):
        """Stop calling a callback added with :meth:`add_listener`."""
        with contextlib.suppress(ValueError):
            self._listeners.get(topic, []).remove(callback)

    def push(self, topic: str, data: dict):
        """Send ``data`` to every client subscribed to ``topic`` (see hub.api.TOPICS)."""
        self._push(topic, data)

    def _push(self, topic: str, data: dict):
        for callback in self._listeners.get(topic, ()):
            try:
                callback(data)
            except Exception:
                log.exception("listener for %s failed", topic)
        line = encode({"push": topic, "data": data})
        for client in list(self._clients):
            if topic not in client.topics:
                continue
            try:
                client.queue.put_nowait(line)
            except asyncio.QueueFull:
                log.warning("a client is not reading its pushes; disconnecting it")
                client.writer.close()
                self._clients.discard(client)

    def _said_from_thread(self, text: str):
        if self._loop and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._push, "say", {"text": text})

    # -- the socket ---------------------------------------------------------------

    def _check_not_running(self):
        """Refuse to start beside another core; remove a socket left by a crash."""
        path = self.config.socket_path
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.connect(str(path))
                raise HubError(f"another hub core is already serving {path}")
            except (ConnectionRefusedError, FileNotFoundError):
                path.unlink(missing_ok=True)  # stale socket from a crash
            finally:
                probe.close()

    async def _open_socket(self):
        path = self.config.socket_path
        self._server = await asyncio.start_unix_server(self._serve_client, path=str(path),
                                                       limit=MAX_LINE)
        os.chmod(path, 0o660)
        try:
            os.chown(path, -1, grp.getgrnam(self.config.hub.socket_group).gr_gid)
        except KeyError:
            log.info("group %r does not exist; socket %s keeps this user's group",
                     self.config.hub.socket_group, path)
        except PermissionError as exc:
            log.warning("cannot give socket %s to group %r: %s", path,
                        self.config.hub.socket_group, exc)

    async def _serve_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        client = _Client(writer)
        self._clients.add(client)
        sender = asyncio.create_task(self._send_loop(client))
        try:
            while True:
                try:
                    line = await reader.readline()
                except (ValueError, asyncio.LimitOverrunError):
                    await client.queue.put(encode({"id": None, "ok": False, "code": "bad_request",
                                                   "error": f"line longer than {MAX_LINE} bytes"}))
                    break
                if not line:
                    break
                reply = await self._handle_line(client, line)
                await client.queue.put(encode(reply))
        except (ConnectionError, OSError):
            pass
        finally:
            self._clients.discard(client)
            await client.queue.put(None)
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(sender, 2)
            writer.close()

    async def _send_loop(self, client: _Client):
        while True:
            line = await client.queue.get()
            if line is None:
                return
            client.writer.write(line)
            await client.writer.drain()

    async def _handle_line(self, client: _Client, line: bytes) -> dict:
        try:
            msg = json.loads(line)
            if not isinstance(msg, dict) or not isinstance(msg.get("cmd"), str):
                raise ValueError("a request is an object with a 'cmd' text")
            args = msg.get("args") or {}
            if not isinstance(args, dict):
                raise ValueError("'args' must be an object")
        except ValueError as exc:
            return {"id": None, "ok": False, "code": "bad_request", "error": str(exc)}
        req_id, cmd = msg.get("id"), msg["cmd"]
        handler = getattr(self, "_cmd_" + cmd.replace(".", "_"), None)
        if cmd in self._extra_commands:
            extra = self._extra_commands[cmd][0]

            async def handler(_client, **kw):
                return await extra(**kw)
        elif cmd not in COMMANDS:
            handler = None
        if handler is None:
            return {"id": req_id, "ok": False, "code": "unknown_command",
                    "error": f"unknown command {cmd!r}; known: "
                             f"{', '.join([*COMMANDS, *self._extra_commands])}"}
        try:
            result = await handler(client, **args)
            return {"id": req_id, "ok": True, "result": result}
        except TypeError as exc:
            return {"id": req_id, "ok": False, "code": "bad_request", "error": f"{cmd}: {exc}"}
        except StorageFullError as exc:
            return {"id": req_id, "ok": False, "code": "storage_full", "error": str(exc)}
        except (ValueError, ApiError) as exc:
            return {"id": req_id, "ok": False, "code": "bad_request", "error": str(exc)}
        except HubError as exc:  # e.g. enrollment refused: the words say what to do
            return {"id": req_id, "ok": False, "code": "failed", "error": str(exc)}
        except Exception as exc:
            log.exception("command %s failed", cmd)
            return {"id": req_id, "ok": False, "code": "internal",
                    "error": f"{cmd} failed inside the core: {exc}"}

    # -- commands (one method each; see hub.api.COMMANDS and docs/local-api.md) ----

    async def _cmd_hello(self, client):
        snap, _ = await self.db(self._sos_snapshot)
        name = await self.db(self.store.get_setting, "elder_name", self.config.hub.elder_name)
        return {"version": __version__, "language": self.language, "elder_name": name,
                "simulate": self.config.hub.simulate, "sos": snap, "sync": self.sync_status}

    async def _cmd_ping(self, client):
        return {}

    async def _cmd_subscribe(self, client, topics=None):
        topics = set(topics or TOPICS)
        unknown = topics - set(TOPICS)
        if unknown:
            raise ValueError(f"unknown topics {sorted(unknown)}; known: {', '.join(TOPICS)}")
        client.topics = topics
        snap, _ = await self.db(self._sos_snapshot)
        if "sos" in topics:
            client.queue.put_nowait(encode({"push": "sos", "data": snap}))
        if "sync" in topics:
            client.queue.put_nowait(encode({"push": "sync", "data": self.sync_status}))
        if "prompt" in topics:
            for prompt, _ in self._prompts.values():
                client.queue.put_nowait(encode({"push": "prompt", "data": prompt}))
        return {"topics": sorted(topics)}

    @staticmethod
    def _fact_id(value) -> str | None:
        """A client-made id must be a UUID: it is the platform's idempotency key."""
        if value is None:
            return None
        try:
            return str(uuid.UUID(str(value)))
        except ValueError:
            raise ValueError(f"id {value!r} is not a UUID; leave it out and the core makes one"
                             ) from None

    @staticmethod
    def _source(source) -> str:
        from hub.sos import SOURCES

        if source not in SOURCES:
            raise ValueError(f"source {source!r} is not one of {', '.join(SOURCES)}")
        return source

    async def _cmd_sos_press(self, client, source="touch", id=None, test=False):
        return await self.sos_press(self._source(source), press_id=self._fact_id(id),
                                    test=bool(test))

    async def _cmd_sos_cancel(self, client, source="touch"):
        return await self.sos_cancel(self._source(source))

    async def _cmd_sos_resolve(self, client, source="touch"):
        return await self.sos_resolve(self._source(source))

    async def _cmd_sos_state(self, client):
        snap, _ = await self.db(self._sos_snapshot)
        return snap

    async def _cmd_checkin(self, client, id=None, answer="ok", source="touch"):
        event = await self.record_event("checkin", {"answer": answer}, event_id=self._fact_id(id),
                                        source=self._source(source), priority=PRIORITY_ALERT)
        if not event.get("duplicate"):
            self.speaker.say(phrase("checkin_thanks", self.language))
        return event

    async def _cmd_event_record(self, client, kind, data=None, id=None, source="touch"):
        if kind not in CLIENT_EVENT_KINDS:
            raise ValueError(f"event kind {kind!r} is not one of {', '.join(CLIENT_EVENT_KINDS)}")
        return await self.record_event(kind, data or {}, event_id=self._fact_id(id),
                                       source=self._source(source),
                                       priority=CLIENT_EVENT_KINDS[kind])

    async def _cmd_reading_add(self, client, reading):
        if not isinstance(reading, dict):
            raise ValueError("reading must be an object")
        if reading.get("id") is not None:
            reading = {**reading, "id": self._fact_id(reading["id"])}
        stored = await self.add_reading(reading)
        return stored or {"duplicate": True, "id": reading.get("id")}

    async def _cmd_readings_latest(self, client):
        return await self.db(self.store.latest_readings)

    async def _cmd_readings_list(self, client, kind=None, since=None, limit=500):
        return await self.db(self.store.readings, kind, since=since, limit=min(int(limit), 5000))

    async def _cmd_inbox_list(self, client):
        return await self.db(self.store.inbox)

    async def _cmd_inbox_read(self, client, id):
        ok = await self.db(self.store.inbox_mark_read, id)
        if not ok:
            raise ValueError(f"no message {id!r}")
        return {"id": id}

    async def _cmd_settings_get(self, client):
        defaults = {"language": self.config.hub.language, "elder_name": self.config.hub.elder_name,
                    "text_size": "normal", "volume": self.config.audio.volume,
                    "speech_rate": self.config.audio.rate}
        return {k: await self.db(self.store.get_setting, k, v) for k, v in defaults.items()}

    async def _cmd_settings_set(self, client, key, value):
        rule = SETTINGS.get(key)
        if rule is None:
            raise ValueError(f"unknown setting {key!r}; known: {', '.join(SETTINGS)}")
        if isinstance(rule, tuple) and value not in rule:
            raise ValueError(f"{key} must be one of {', '.join(rule)}")
        if isinstance(rule, type) and not isinstance(value, rule if rule is not float
                                                     else (int, float)):
            raise ValueError(f"{key} must be a {rule.__name__}")
        await self.db(self.store.set_setting, key, value)
        if key == "language":
            self.language = value
            self.speaker.language = value
        elif key == "speech_rate":
            self.speaker.configure(rate=value)
        elif key == "volume":
            self.speaker.configure(volume=value)
        self._push("settings", {key: value})
        return {key: value}

    async def _cmd_status(self, client):
        # Everything from the store (hub.status); only "the core runs" is live.
        core = {"running": True, "pid": os.getpid(), "version": __version__}
        return await self.db(collect_status, self.store, self.config, sos=self.sos.snapshot(),
                             core=core)

    async def _cmd_prompt_answer(self, client, id, answer, source="touch"):
        prompt, future = self._prompts.get(id, (None, None))
        if prompt is None:
            raise ValueError(f"no open question {id!r} (it may have been answered already)")
        if answer not in prompt["answers"]:
            raise ValueError(f"answer must be one of {', '.join(prompt['answers'])}")
        await self.record_event("checkin_answer", {"prompt": prompt["kind"], "answer": answer,
                                                   "question": prompt["question_key"]},
                                source=self._source(source), priority=PRIORITY_ALERT)
        if not future.done():
            future.set_result(answer)
        return {"id": id, "answer": answer}

    async def _cmd_doctor(self, client):
        from hub.doctor import run_checks

        checks = await self._loop.run_in_executor(None, run_checks, self.config)
        return [{"name": c.name, "level": c.level, "detail": c.detail, "hint": c.hint}
                for c in checks]

    async def _cmd_sync_enroll(self, client, url, code):
        from hub.sync.enroll import enroll

        if not isinstance(url, str) or not isinstance(code, str) or not code.strip():
            raise ValueError("url and code must be texts")
        hub_id = await self._loop.run_in_executor(None, enroll, self.config, url.strip(),
                                                  code.strip())
        if self.sync:
            self.sync.wake(urgent=True)  # the worker notices the new token file
        return {"hub_id": hub_id}

    async def _cmd_say(self, client, text):
        if not isinstance(text, str) or not text.strip():
            raise ValueError("text must be a non-empty string")
        self.speaker.say(text[:500])
        return {}


# Parts of the core that live in other packages: (module, coroutine function, enabled?).
# Each is started as a supervised task ``await fn(core)``; a missing or failing part is
# logged and never stops the SOS path.
EXTENSIONS = (
    ("hub.sensors.gpio", "run_gpio", lambda cfg: cfg.gpio.enabled),
    ("hub.rules", "run_rules", lambda cfg: True),
    ("hub.sensors.ble.service", "run_ble", lambda cfg: cfg.ble.enabled),
)


def load_extensions(config: Config) -> list[Callable[["Core"], Awaitable[None]]]:
    """Import the enabled core extensions that are installed."""
    found = []
    for module, name, enabled in EXTENSIONS:
        if not enabled(config):
            continue
        try:
            found.append(getattr(__import__(module, fromlist=[name]), name))
        except (ImportError, AttributeError) as exc:
            log.warning("%s.%s not available: %s", module, name, exc)
    return found


def run_core(config: Config) -> int:
    """Run the core until SIGTERM; the exit code for the CLI."""
    core = Core(config)
    core.extensions = load_extensions(config)
    try:
        asyncio.run(core.run())
    except HubError as exc:
        log.error("%s", exc)
        return 1
    return 0

