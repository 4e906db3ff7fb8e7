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
import collections
import concurrent.futures
import contextlib
import grp
import hmac
import inspect
import logging
import os
import resource
import signal
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from hub import __version__
from hub.api import (COMMANDS, MAX_LINE, MEMBER_COMMANDS, PIN_COMMANDS, RESERVED_SOURCES,
                     TOPICS, encode)
from hub.clock import new_id
from hub.config import Config
from hub.errors import ApiError, HubError, StorageFullError
from hub.phrases import phrase
from hub.sos import Effects, SosMachine
from hub.status import collect_status
from hub.store import (PRIORITY_ALERT, AlarmWriter, DamagedDatabaseError, Store,
                       set_aside_damaged)
from hub.systemd_notify import notify, watchdog_interval
from hub.validate import ARGS, CLIENT_NAMES, BadRequest, check_args, check_setting, parse_request
from hub.voice.speech import URGENT, Speaker

__all__ = ["Core", "run_core"]

log = logging.getLogger(__name__)

# Care events other processes (voice, kiosk) may record through the API.
CLIENT_EVENT_KINDS = {
    "alert": PRIORITY_ALERT,
    "checkin_answer": PRIORITY_ALERT,
    "message_read": 5,
}
# Output bounds per client (hub.api clients read as fast as the core writes): replies
# wait while this much is queued (the core then stops reading that client, so a client
# that pipelines without reading only stalls itself); pushes beyond it plus the slack
# mean the client is not reading at all, and it is disconnected.
_CLIENT_BYTES = 1024 * 1024
# `say` from clients: at most SAY_LIMIT texts per SAY_WINDOW_S seconds.
SAY_LIMIT = 6
SAY_WINDOW_S = 3.0
_PUSH_SLACK = 1024 * 1024
# Connections root and the core's own user still get when members have filled the cap.
_ADMIN_EXTRA = 8
# File handles never given to clients: the alarm player, the database and its WAL, the
# sync worker's connections, speech, Bluetooth.
FD_RESERVE = 64
# Wrong setup PINs before sync.enroll refuses PINs for a while (doubling, up to an hour).
_PIN_TRIES = 5
# Commands that only read: on SIGTERM their answers are dropped, not waited for.
_READ_ONLY = frozenset({"hello", "ping", "subscribe", "sos.state", "readings.latest",
                        "readings.list", "inbox.list", "settings.get", "status", "doctor",
                        "gpio.status", "devices.list", "devices.scan", "reminder.list"})


class _Forbidden(Exception):
    """This connection's role may not do that (answered with code ``forbidden``)."""


def _peer_credentials(writer: asyncio.StreamWriter) -> tuple[int, int, int]:
    """(pid, uid, gid) of the process at the other end of a Unix socket (SO_PEERCRED)."""
    sock = writer.get_extra_info("socket")
    try:
        raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        return struct.unpack("3i", raw)
    except (OSError, AttributeError):
        return -1, -1, -1  # unknown peer: a member, never admin


def _pin_matches(config: Config, pin: str) -> bool:
    """The family's setup PIN (``[kiosk] setup_pin_hash`` when provisioned, else setup_pin)."""
    try:
        from hub.provision import check_pin
    except ImportError:
        return hmac.compare_digest(pin.encode(), config.kiosk.setup_pin.encode())
    return check_pin(config, pin)


class _Client:
    """One connected kiosk/voice/CLI client: who it is, and its bounded output.

    ``admin`` comes from the kernel (SO_PEERCRED): root or the core's own user.
    ``source``, recorded on everything it does, is set by the core from what the client
    said in ``hello`` (:data:`hub.validate.CLIENT_NAMES`), never from a request.
    """

    def __init__(self, writer: asyncio.StreamWriter, pid: int, uid: int, gid: int):
        self.writer = writer
        self.pid, self.uid, self.gid = pid, uid, gid
        self.admin = uid == 0 or uid == os.geteuid()
        self.name: str | None = None
        self.source = "api"
        self.topics: set[str] = set()
        self.pending = 0  # bytes queued and not yet taken by the kernel
        self.closing = False
        self.task: asyncio.Task | None = None  # the task serving this connection
        self.current: str | None = None  # the command being answered now
        self.voice_listening = False  # a voice process's window is open (voice.state)
        self._lines: collections.deque[bytes] = collections.deque()
        self._more = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()

    def push(self, line: bytes) -> bool:
        """Queue a push; a client that is not reading is disconnected (False)."""
        if self.closing:
            return False
        if self.pending + len(line) > _CLIENT_BYTES + _PUSH_SLACK:
            log.warning("local API client pid %s uid %s is not reading; disconnecting it",
                        self.pid, self.uid)
            self.abort()
            return False
        self._queue(line)
        return True

    async def reply(self, line: bytes) -> bool:
        """Queue a reply, first waiting while too much is queued; False once closing."""
        while self.pending >= _CLIENT_BYTES and not self.closing:
            self._room.clear()
            await self._room.wait()
        if self.closing:
            return False
        self._queue(line)
        return True

    def _queue(self, line: bytes):
        self._lines.append(line)
        self.pending += len(line)
        self._more.set()

    async def send_loop(self):
        """Write queued lines in order; returns once closing and empty."""
        while True:
            if not self._lines:
                if self.closing:
                    return
                self._more.clear()
                await self._more.wait()
                continue
            line = self._lines.popleft()
            self.writer.write(line)
            await self.writer.drain()
            self.pending -= len(line)
            if self.pending < _CLIENT_BYTES:
                self._room.set()

    def finish(self):
        """No more lines: the send loop ends once the queue is written."""
        self.closing = True
        self._more.set()
        self._room.set()

    def abort(self):
        """Drop the queue and the connection at once (shutdown, a client not reading)."""
        self.finish()
        self._lines.clear()
        self.pending = 0
        with contextlib.suppress(Exception):
            self.writer.transport.abort()


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
        self._max_clients = config.hub.max_clients
        self._pin_failures = 0
        self._pin_locked_until = 0.0
        self._bad_settings: set[str] = set()
        self._listeners: dict[str, list[Callable[[dict], None]]] = {}
        self.rules = None  # hub.rules.CareRules, set by run_rules
        self.gpio = None  # hub.sensors.gpio, set by run_gpio while pins are open
        self.ble = None  # hub.sensors.ble.service.BleService, set by run_ble
        self.alarm_writer: AlarmWriter | None = None  # SOS writes, off the loop and store thread
        self.safety_mode: dict | None = None  # set when started beside a damaged database
        self.exit_code = 0  # non-zero: systemd should restart us (e.g. state dir deleted)
        self._rescue_token: bytes | None = None  # token to write back with a rescued database
        self._rescue = False
        self._say_times: collections.deque = collections.deque()
        self._voice_pushed: dict | None = None  # the voice state last pushed

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
        self._umask = os.umask(0o077)  # the database, its WAL and the token: this user only
        self._secure_state_dir()
        self._check_not_running()
        self.store = await self._open_store()
        self._secure_state_dir()
        self.language = await self._setting("language")
        # SOS transitions are written by their own thread and connection, so neither a
        # stalled card nor a slow reading write ever stands between a press and the alarm.
        reserve = cfg.store.reserve_mb * 1024 * 1024
        self.alarm_writer = AlarmWriter(
            lambda: Store(cfg.db_path, reserve_bytes=reserve, migrate=False),
            on_written=self._alarm_written)
        await self._loop.run_in_executor(None, self.alarm_writer.start)
        self.sos = SosMachine(self.alarm_writer.store, cfg.sos, persist=self._persist_sos)
        if self.speaker is None:
            self.speaker = Speaker(self.language, engine=cfg.audio.speech_engine,
                                   rate=cfg.audio.rate, volume=cfg.audio.volume,
                                   alarm_wav=cfg.state_dir / "alarm.wav")
        self.speaker.on_said = lambda text: self._push_from_thread("say", {"text": text})
        # the voice process stops taking what it hears for the hub's own voice
        self.speaker.on_quiet = lambda: self._push_from_thread("speaker", {"speaking": False})
        self.speaker.start()
        self.speaker.configure(rate=await self._setting("speech_rate"),
                               volume=await self._setting("volume"))
        # Recover the alarm before anyone can press: a press must see an open alarm.
        fx = await asyncio.wrap_future(
            self.alarm_writer.submit(lambda _st: self.sos.load(), label="SOS recovery"))
        await self._after_sos(fx)
        await self._open_socket()
        if self._start_sync:
            self._start_sync_worker()
        self._spawn("retention", self._retention_loop)
        self._spawn("state-dir", self._watch_state_dir)
        if self.safety_mode:
            await self.record_event("alert", {"reason": "database_damaged",
                                              "kept_as": Path(self.safety_mode["kept"]).name},
                                    priority=PRIORITY_ALERT)
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
        # Abort, not close: close() waits to flush, for ever for a client that never reads.
        # A read being answered is dropped too (its queued database work with it); a write
        # under way finishes below, so an acknowledged fact is never lost.
        for client in list(self._clients):
            client.abort()
            if client.current in _READ_ONLY and client.task:
                client.task.cancel()
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
        # Alarm writes still waiting (a stalled or full card) get a last chance.
        if self.alarm_writer:
            left = await self._loop.run_in_executor(None, self.alarm_writer.stop, 5.0)
            if left:
                log.critical("%d alarm records could not be saved before stopping (%s); the "
                             "platform will not hear of them", left, self.alarm_writer.last_error)
        if self._rescue:
            await self.db(self._rescue_state_dir)
        # Every write already committed with fsync; finish the queued ones, then close.
        await self.db(self.store.close)
        self._store_thread.shutdown(wait=True)
        with contextlib.suppress(FileNotFoundError):
            self.config.socket_path.unlink()
        if getattr(self, "_umask", None) is not None:
            os.umask(self._umask)
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

    async def _open_store(self) -> Store:
        """Open the database; a damaged one is kept aside and a fresh one started (safety mode).

        The alarm path needs a database that takes writes now; the elder's history in the
        damaged file is for a technician to recover, so it is renamed, never deleted.
        """
        cfg = self.config
        reserve = cfg.store.reserve_mb * 1024 * 1024
        try:
            return await self.db(Store, cfg.db_path, reserve_bytes=reserve, check=True)
        except DamagedDatabaseError as exc:
            kept = await self.db(set_aside_damaged, cfg.db_path)
            self.safety_mode = {"kept": str(kept), "reason": str(exc)}
            log.critical("SAFETY MODE: %s It is kept as %s. The hub starts on a fresh database: "
                         "alarms work; earlier readings, paired devices and settings are in the "
                         "kept file. Call a technician (see `hub doctor`).", exc, kept)
            notify(f"STATUS=SAFETY MODE: database damaged, kept as {kept.name}")
            return await self.db(Store, cfg.db_path, reserve_bytes=reserve)

    async def _watch_state_dir(self):
        """Notice the database (or its whole folder) deleted or replaced under us.

        SQLite would go on writing into the deleted inode and every alarm after that would
        vanish at the next restart. So: say so, save everything still reachable through the
        open connection into a new file at the same place, and stop with a non-zero code
        (systemd's Restart= brings the core back on the saved copy). Also re-makes the disk
        reserve once space is back after a full disk.
        """
        path = self.config.db_path
        st = os.stat(path)
        ident = (st.st_dev, st.st_ino)
        token_path = self.config.token_path
        ticks = 0
        while True:
            if token_path.parent == self.config.state_dir:
                with contextlib.suppress(OSError):
                    self._rescue_token = token_path.read_bytes()
            await asyncio.sleep(1.0)
            try:
                st = os.stat(path)
                now = (st.st_dev, st.st_ino)
            except FileNotFoundError:
                now = None
            if now != ident:
                log.critical("the database %s was %s while the hub was running; saving what "
                             "the open connection still holds to a new %s and stopping, so the "
                             "service restarts on it", path,
                             "deleted" if now is None else "replaced", path)
                notify("STATUS=state directory deleted: rescuing the database and restarting")
                self._rescue = True
                self.exit_code = 75  # EX_TEMPFAIL: systemd restarts the core
                self.request_stop()
                return
            ticks += 1
            if ticks % 30 == 0:
                await self.db(self.store.ensure_reserve)

    def _rescue_state_dir(self):
        """On the store thread: copy the (deleted) open database to a new file at its path."""
        import sqlite3

        cfg = self.config
        cfg.state_dir.mkdir(parents=True, exist_ok=True)
        target = cfg.db_path
        if target.exists():  # replaced by someone: never overwrite what they put there
            target = target.with_name(target.name + ".rescued-" + time.strftime(
                "%Y%m%dT%H%M%SZ", time.gmtime()))
        dst = sqlite3.connect(str(target))
        try:
            self.store.db.conn.backup(dst)
            dst.execute("PRAGMA journal_mode=WAL")
        finally:
            dst.close()
        log.critical("database rescued to %s", target)
        token = self.config.token_path
        if self._rescue_token and not token.exists():
            fd = os.open(token, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(self._rescue_token)
            log.critical("device token written back to %s", token)

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
        await self._after_sos(self.sos.delivered(ids))

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
        # The transitions are idempotent (an ack for an alarm already acknowledged changes
        # nothing), so they go first; the alarm writer keeps order, so the inbox row is
        # only saved after them and a crash in between makes the platform send it again.
        fx = Effects()
        if kind == "sos_ack":
            fx = self.sos.acknowledged(
                data.get("sos_id"), responder=data.get("responder"), eta=data.get("eta"))
        elif kind == "sos_resolved" and self.sos.alarm and \
                self.sos.alarm["id"] == data.get("sos_id"):
            fx = self.sos.resolve("platform", by=data.get("by"))[1]
        await self._after_sos(fx)
        new = await asyncio.wrap_future(self.alarm_writer.submit(
            lambda st: st.inbox_add(message), label=f"platform message {kind}"))
        if new:
            self._push("inbox", {"id": message["id"], "kind": kind, "data": data})

    # -- SOS ----------------------------------------------------------------------

    def _sos_snapshot(self):
        return self.sos.snapshot(), self.sos.next_deadline()

    def _persist_sos(self, alarm: dict, kind: str, payload: dict, **kw):
        """Hand one SOS transition to the alarm writer (called by the machine, on the loop)."""
        self._sos_write = self.alarm_writer.submit(
            lambda st: st.sos_transition(alarm, kind, payload, **kw),
            label=f"{kind} of alarm {alarm['id']}", meta=bool(kw.get("sync")))

    def _alarm_written(self, label: str, wake_sync):
        """In the alarm writer thread: a transition landed; an urgent one goes out now."""
        if wake_sync and self.sync:
            self.sync.wake(urgent=True)

    async def _sos_saved(self, timeout: float = 2.0, quiet: bool = False) -> bool:
        """Wait (a little) for the last SOS write; False if storage is slow or full."""
        fut = getattr(self, "_sos_write", None)
        if fut is None:
            return True
        if fut.done():
            return fut.exception() is None
        try:
            await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(fut)), timeout)
            return True
        except asyncio.TimeoutError:
            if not quiet:
                log.error("the alarm is not saved yet (%s): it goes on in memory, the hub "
                          "speaks and escalates, and the record is written as soon as "
                          "storage allows", self.alarm_writer.last_error or "storage slow")
            return False
        except Exception:  # the writer stopped: the shutdown path says what was lost
            return False

    async def sos_press(self, source: str, *, press_id: str | None = None,
                        test: bool = False) -> dict:
        """Press SOS: the local alarm at once, then wait up to 2 s for the record.

        The result's ``saved`` is False when the storage did not take the record within
        2 s (stalled or full card); the write goes on in the background.
        """
        result, fx = self.sos.press(source, press_id=press_id, test=test)
        await self._after_sos(fx)
        return {**result, "saved": await self._sos_saved()}

    async def sos_cancel(self, source: str, *, countdown_only: bool = False) -> dict:
        """Cancel the countdown (or end a raised alarm: "I'm safe now").

        :param countdown_only: do nothing unless a countdown is running (checked on the
            loop, where the machine lives, so it cannot race the countdown's end). A held
            GPIO button uses it.
        """
        if countdown_only and (not self.sos.alarm or self.sos.alarm["state"] != "countdown"):
            result, fx = {"cancelled": False, **self.sos.snapshot()}, Effects()
        else:
            result, fx = self.sos.cancel(source)
        await self._after_sos(fx)
        await self._sos_saved()
        return result

    async def sos_resolve(self, source: str) -> dict:
        """End an open alarm."""
        result, fx = self.sos.resolve(source)
        await self._after_sos(fx)
        await self._sos_saved()
        return result

    async def _sos_tick(self):
        await self._after_sos(self.sos.on_time())

    async def _after_sos(self, fx: Effects, snap: dict | None = None,
                         deadline: float | None = None):
        """Carry out a transition's effects on the loop, and re-arm the SOS timer.

        The machine lives on the loop and its writes go to the alarm writer. On a
        healthy card the record lands in a few ms and everything happens in the usual
        order (push, then speech). If it is not saved within 50 ms (stalled or full card)
        speech and the alarm sound go first; pushes (screen, LEDs) wait 0.5 s at most.
        """
        spoken = False
        if fx.push and not await self._sos_saved(0.05, quiet=True):
            self._sos_sound(fx)
            spoken = True
            await self._sos_saved(0.45, quiet=True)
        if snap is None:
            snap, deadline = self._sos_snapshot()
        if fx.sync_urgent and self.sync:
            self.sync.wake(urgent=True)
        if self.sync:
            self.sync.set_sos_open(snap["state"] != "idle")
        if fx.push:
            self._push("sos", snap)
        if not spoken:
            self._sos_sound(fx)
        if self._sos_timer:
            self._sos_timer.cancel()
            self._sos_timer = None
        if deadline is not None:
            delay = max(0.0, deadline - time.monotonic())
            self._sos_timer = self._loop.call_later(
                delay, lambda: self._spawn_once(self._sos_tick()))

    def _sos_sound(self, fx: Effects):
        """Say the transition's phrases (ahead of all other speech) and start/stop the tone."""
        for key, params in fx.say:
            self.speaker.say(phrase(key, self.language, **params), priority=URGENT)
        if fx.alarm_sound is not None:
            self.speaker.alarm(fx.alarm_sound)

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
        if not event.get("duplicate"):
            self._notify_listeners("event", event)  # in-core only (e.g. the check-in routine)
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
                  timeout: float | None = None, context: dict | None = None,
                  **params) -> str | None:
        """Put a full-screen question on the kiosk, say it, and wait for the answer.

        :param kind: what asks, e.g. ``inactivity``; recorded with the answer.
        :param question_key: a phrase key in :mod:`hub.phrases`.
        :param answers: answer keys the kiosk shows as two huge buttons.
        :param timeout: seconds to wait; None waits for ever.
        :param context: what the question is about, for the kiosk (e.g. a request id).
        :returns: the answer key, or None when nobody answered in time.
        """
        prompt = {"id": new_id(), "kind": kind, "question_key": question_key,
                  "question": phrase(question_key, self.language, **params),
                  "answers": list(answers), "open": True, "context": context or {}}
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

        :param handler: ``async def handler(**args) -> result``; a handler with a
            ``source`` parameter gets the asking connection's source (touch, voice, cli).
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

    def _notify_listeners(self, topic: str, data: dict):
        for callback in self._listeners.get(topic, ()):
            try:
                callback(data)
            except Exception:
                log.exception("listener for %s failed", topic)

    def _push(self, topic: str, data: dict):
        self._notify_listeners(topic, data)
        line = encode({"push": topic, "data": data})
        for client in list(self._clients):
            if topic in client.topics and not client.push(line):
                self._clients.discard(client)

    def _push_from_thread(self, topic: str, data: dict):
        """Push from another thread (the speech worker), on the loop while it runs."""
        if self._loop and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._push, topic, data)

    # -- the socket ---------------------------------------------------------------

    def _secure_state_dir(self):
        """State dir 0750 (0700 if the socket lives elsewhere); database files 0600.

        The socket group needs only to reach the socket; the database (health data, the
        alarm history) is read by the core alone — the kiosk asks the core.
        """
        cfg = self.config
        mode = 0o750 if cfg.socket_path.parent == cfg.state_dir else 0o700
        paths = [(cfg.state_dir, mode)] + [
            (cfg.db_path.with_name(cfg.db_path.name + suffix), 0o600)
            for suffix in ("", "-wal", "-shm", "-journal")]
        for path, want in paths:
            try:
                if path.exists() and path.stat().st_mode & 0o777 != want:
                    os.chmod(path, want)
            except OSError as exc:
                log.warning("cannot make %s mode %o: %s", path, want, exc)

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
        self._max_clients = self._client_budget()
        # A small backlog: asyncio accepts up to `backlog` connections per loop turn, and
        # each takes a file handle before the cap below can refuse it.
        self._server = await asyncio.start_unix_server(self._serve_client, path=str(path),
                                                       limit=MAX_LINE, backlog=16)
        os.chmod(path, 0o660)
        try:
            os.chown(path, -1, grp.getgrnam(self.config.hub.socket_group).gr_gid)
        except KeyError:
            log.info("group %r does not exist; socket %s keeps this user's group",
                     self.config.hub.socket_group, path)
        except PermissionError as exc:
            log.warning("cannot give socket %s to group %r: %s", path,
                        self.config.hub.socket_group, exc)

    def _client_budget(self) -> int:
        """How many local API connections fit, keeping :data:`FD_RESERVE` file handles free.

        Raises the soft RLIMIT_NOFILE to the hard one first (systemd sets both).
        """
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard != resource.RLIM_INFINITY and soft < hard:
            with contextlib.suppress(ValueError, OSError):
                resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
                soft = hard
        try:
            in_use = len(os.listdir("/proc/self/fd"))
        except OSError:
            in_use = 64
        room = soft - in_use - FD_RESERVE - _ADMIN_EXTRA - 16  # 16: the accept backlog
        wanted = self.config.hub.max_clients
        if room < wanted:
            log.warning("only %d file handles are free (limit %d); serving at most %d local "
                        "API connections instead of %d", soft - in_use, soft, max(room, 2),
                        wanted)
        return max(2, min(wanted, room))

    def _admission(self, uid: int) -> str | None:
        """None if a connection from ``uid`` may be served, else why not (in words)."""
        total = len(self._clients)
        if uid == 0 or uid == os.geteuid():
            if total >= self._max_clients + _ADMIN_EXTRA:
                return f"the hub core is serving {total} local API connections; try again"
            return None
        if total >= self._max_clients:
            return (f"the hub core is serving its limit of {self._max_clients} local API "
                    "connections ([hub] max_clients); try again")
        mine = sum(1 for c in self._clients if c.uid == uid)
        if mine >= self.config.hub.max_clients_per_user:
            return (f"this user already has {mine} connections to the hub core "
                    "([hub] max_clients_per_user); close some")
        return None

    async def _serve_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        pid, uid, gid = _peer_credentials(writer)
        refusal = self._admission(uid)
        if refusal:
            log.warning("refused a local API connection from pid %s uid %s: %s", pid, uid,
                        refusal)
            with contextlib.suppress(Exception):
                writer.write(encode({"id": None, "ok": False, "code": "busy", "error": refusal}))
                writer.close()  # one short line: it goes out at once, the socket closes
            return
        client = _Client(writer, pid, uid, gid)
        client.task = asyncio.current_task()
        self._clients.add(client)
        sender = asyncio.create_task(client.send_loop())
        try:
            while not client.closing:
                try:
                    line = await reader.readline()
                except (ValueError, asyncio.LimitOverrunError):
                    await client.reply(encode({"id": None, "ok": False, "code": "bad_request",
                                               "error": f"line longer than {MAX_LINE} bytes"}))
                    break
                if not line:
                    break
                reply = await self._handle_line(client, line)
                client.current = None
                if not await client.reply(self._encode_reply(reply)):
                    break
        except (ConnectionError, OSError):
            pass
        finally:
            self._clients.discard(client)
            client.finish()
            if client.name == "voice":  # also a SIGKILLed voice process: its socket closed
                self._voice_changed()
            try:
                await asyncio.wait_for(sender, 2)
            except asyncio.CancelledError:
                client.abort()
                raise
            except Exception:  # timed out (not reading) or the peer went away
                pass
            finally:
                if not sender.done() or client.pending:
                    sender.cancel()
                    client.abort()
                else:
                    writer.close()

    @staticmethod
    def _encode_reply(reply: dict) -> bytes:
        try:
            return encode(reply)
        except (TypeError, ValueError) as exc:  # a handler returned something not JSON
            log.error("reply to request %r cannot be sent as JSON: %s", reply.get("id"), exc)
            return encode({"id": reply.get("id"), "ok": False, "code": "internal",
                           "error": "the core could not encode its reply"})

    async def _handle_line(self, client: _Client, line: bytes) -> dict:
        """Answer one request: parse, role, arguments, then the command's handler."""
        try:
            msg = parse_request(line)
        except BadRequest as exc:
            return {"id": None, "ok": False, "code": "bad_request", "error": str(exc)}
        req_id, cmd, args = msg["id"], msg["cmd"], msg["args"]
        client.current = cmd
        handler = getattr(self, "_cmd_" + cmd.replace(".", "_"), None)
        if cmd in self._extra_commands:
            extra = self._extra_commands[cmd][0]

            async def handler(_client, **kw):
                if _takes_source(extra):  # who asked is the connection's, never the client's
                    kw["source"] = _client.source
                return await extra(**kw)
        elif cmd not in COMMANDS:
            handler = None
        if handler is None:
            shown = cmd if len(cmd) <= 60 else cmd[:57] + "…"
            return {"id": req_id, "ok": False, "code": "unknown_command",
                    "error": f"unknown command {shown!r}; known: "
                             f"{', '.join([*COMMANDS, *self._extra_commands])}"}
        try:
            if not client.admin and cmd not in MEMBER_COMMANDS:
                raise _Forbidden(f"{cmd} is only for the hub's own user or root (this "
                                 f"connection is uid {client.uid})")
            args = check_args(cmd, args)
            pin = args.pop("pin", None) if cmd in PIN_COMMANDS else None
            if cmd in PIN_COMMANDS and not client.admin:
                await self._check_pin(cmd, pin)
            if "source" in ARGS.get(cmd, ()) or self._extra_takes_source(cmd):
                claimed = args.pop("source", None)
                if claimed in RESERVED_SOURCES:  # never honoured; worth a line in the log
                    log.warning("pid %s uid %s asked %s as source %r; recorded as %r",
                                client.pid, client.uid, cmd, claimed, client.source)
                args["source"] = client.source
            result = await handler(client, **args)
            return {"id": req_id, "ok": True, "result": result}
        except _Forbidden as exc:
            log.warning("refused %s to pid %s uid %s: %s", cmd, client.pid, client.uid, exc)
            return {"id": req_id, "ok": False, "code": "forbidden", "error": str(exc)}
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

    def _extra_takes_source(self, cmd: str) -> bool:
        """A command added by a part of the core records a source: the core gives it."""
        extra = self._extra_commands.get(cmd)
        try:
            return extra is not None and "source" in inspect.signature(extra[0]).parameters
        except (TypeError, ValueError):
            return False

    async def _check_pin(self, cmd: str, pin: str | None):
        """A member needs the setup PIN for ``cmd``; wrong PINs lock PINs out for a while."""
        now = time.monotonic()
        if now < self._pin_locked_until:
            raise _Forbidden(f"too many wrong PINs; try again in "
                             f"{int(self._pin_locked_until - now) + 1} s")
        if pin is None:
            raise _Forbidden(f"{cmd} needs the setup PIN (argument 'pin') from this user")
        if await self._loop.run_in_executor(None, _pin_matches, self.config, pin):
            self._pin_failures = 0
            return
        self._pin_failures += 1
        if self._pin_failures % _PIN_TRIES == 0:
            wait = min(3600, 60 * 2 ** (self._pin_failures // _PIN_TRIES - 1))
            self._pin_locked_until = time.monotonic() + wait
            log.warning("%d wrong setup PINs over the local API; PINs refused for %d s",
                        self._pin_failures, wait)
        raise _Forbidden("the setup PIN is not right")

    async def _setting(self, key: str):
        """A family setting, or its default when unset or stored broken (logged once)."""
        defaults = {"language": self.config.hub.language,
                    "elder_name": self.config.hub.elder_name, "text_size": "normal",
                    "volume": self.config.audio.volume, "speech_rate": self.config.audio.rate,
                    "home_voice_button": "read_aloud"}
        try:
            value = await self.db(self.store.get_setting, key, defaults[key])
            return check_setting(key, value)
        except (BadRequest, ValueError) as exc:  # ValueError: the stored JSON itself
            if key not in self._bad_settings:
                self._bad_settings.add(key)
                log.error("stored setting %s is not valid (%s); using the default until it "
                          "is set again", key, str(exc)[:80])
            return defaults[key]

    # -- commands (one method each; see hub.api.COMMANDS and docs/local-api.md) ----
    # Arguments arrive checked by hub.validate.ARGS; `source` is the connection's own.

    async def _cmd_hello(self, conn: _Client, client: str | None = None):
        if client is not None:
            was_voice = conn.name == "voice"
            conn.name, conn.source = client, CLIENT_NAMES[client]
            if was_voice or client == "voice":
                self._voice_changed()
        snap, _ = self._sos_snapshot()  # in memory, on the loop
        name = await self._setting("elder_name")
        return {"version": __version__, "language": self.language, "elder_name": name,
                "simulate": self.config.hub.simulate, "sos": snap, "sync": self.sync_status,
                "role": "admin" if conn.admin else "member", "source": conn.source,
                "voice": self.voice_state()}

    async def _cmd_ping(self, client):
        return {}

    def voice_state(self) -> dict:
        """``alive``: a client that said ``hello`` as ``voice`` is connected; ``listening``:
        one of them reported its listening window open (``voice.state``)."""
        voices = [c for c in self._clients if c.name == "voice" and not c.closing]
        return {"alive": bool(voices), "listening": any(c.voice_listening for c in voices)}

    def _voice_changed(self):
        """Push the voice state to ``voice`` subscribers when it changed (the kiosk's Speak)."""
        state = self.voice_state()
        if state != self._voice_pushed:
            self._voice_pushed = state
            self._push("voice", state)

    async def _cmd_voice_listen(self, client):
        # The kiosk's Speak button: the voice process opens its listening window. With no
        # voice process connected nobody would hear the push: say so (the kiosk then
        # falls back to Read aloud) rather than answer as if someone listened.
        if not self.voice_state()["alive"]:
            raise HubError("voice is not running (turned off, or the hub-voice process is "
                           "not connected); nothing can listen now")
        self._push("voice", {"listen": True})
        return {}

    async def _cmd_voice_state(self, client, listening):
        # The voice process says whether its listening window is open; the kiosk shows it.
        if client.name != "voice":
            raise _Forbidden("voice.state is for the voice process (hello client voice)")
        client.voice_listening = listening
        self._voice_changed()
        return self.voice_state()

    async def _cmd_subscribe(self, client, topics=None):
        topics = set(topics or TOPICS)
        client.topics = topics
        snap, _ = self._sos_snapshot()  # in memory, on the loop
        if "sos" in topics:
            client.push(encode({"push": "sos", "data": snap}))
        if "sync" in topics:
            client.push(encode({"push": "sync", "data": self.sync_status}))
        if "prompt" in topics:
            for prompt, _ in self._prompts.values():
                client.push(encode({"push": "prompt", "data": prompt}))
        if "voice" in topics:
            client.push(encode({"push": "voice", "data": self.voice_state()}))
        return {"topics": sorted(topics)}

    async def _cmd_sos_press(self, client, source, id=None, test=False):
        return await self.sos_press(source, press_id=id, test=test)

    async def _cmd_sos_cancel(self, client, source):
        return await self.sos_cancel(source)

    async def _cmd_sos_resolve(self, client, source):
        return await self.sos_resolve(source)

    async def _cmd_sos_state(self, client):
        snap, _ = self._sos_snapshot()  # in memory, on the loop
        return snap

    async def _cmd_checkin(self, client, source, id=None, answer="ok"):
        event = await self.record_event("checkin", {"answer": answer}, event_id=id,
                                        source=source, priority=PRIORITY_ALERT)
        if not event.get("duplicate"):
            self.speaker.say(phrase("checkin_thanks", self.language))
        return event

    async def _cmd_event_record(self, client, kind, source, data=None, id=None):
        return await self.record_event(kind, data or {}, event_id=id, source=source,
                                       priority=CLIENT_EVENT_KINDS[kind])

    async def _cmd_reading_add(self, client, reading):
        stored = await self.add_reading(reading)
        return stored or {"duplicate": True, "id": reading.get("id")}

    async def _cmd_readings_latest(self, client):
        return await self.db(self.store.latest_readings)

    async def _cmd_readings_list(self, client, kind=None, since=None, limit=500):
        return await self.db(self.store.readings, kind, since=since, limit=limit)

    async def _cmd_inbox_list(self, client):
        return await self.db(self.store.inbox)

    async def _cmd_inbox_read(self, client, id):
        ok = await self.db(self.store.inbox_mark_read, id)
        if not ok:
            raise ValueError(f"no message {id!r}")
        return {"id": id}

    async def _cmd_settings_get(self, client):
        return {key: await self._setting(key)
                for key in ("language", "elder_name", "text_size", "volume", "speech_rate",
                            "home_voice_button")}

    async def _cmd_settings_set(self, client, key, value):
        value = check_setting(key, value)  # nothing is stored unless the reply is a success
        await self.db(self.store.set_setting, key, value)
        self._bad_settings.discard(key)
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
        core = {"running": True, "pid": os.getpid(), "version": __version__,
                "alarm_unsaved": self.alarm_writer.pending() if self.alarm_writer else 0,
                "storage_error": self.alarm_writer.last_error if self.alarm_writer else None,
                "safety_mode": self.safety_mode, "voice": self.voice_state()}
        return await self.db(collect_status, self.store, self.config, sos=self.sos.snapshot(),
                             core=core)

    async def _cmd_prompt_answer(self, client, id, answer, source):
        prompt, future = self._prompts.get(id, (None, None))
        if prompt is None:
            raise ValueError(f"no open question {id!r} (it may have been answered already)")
        if answer not in prompt["answers"]:
            raise ValueError(f"answer must be one of {', '.join(prompt['answers'])}")
        await self.record_event("checkin_answer", {"prompt": prompt["kind"], "answer": answer,
                                                   "question": prompt["question_key"]},
                                source=source, priority=PRIORITY_ALERT)
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

        if not url.strip().startswith(("https://", "http://127.", "http://localhost")):
            raise ValueError("url must start with https:// (plain http only to this machine)")
        hub_id = await self._loop.run_in_executor(None, enroll, self.config, url.strip(),
                                                  code.strip())
        if self.sync:
            self.sync.wake(urgent=True)  # the worker notices the new token file
        return {"hub_id": hub_id}

    async def _cmd_say(self, client, text):
        if not isinstance(text, str) or not text.strip():
            raise ValueError("text must be a non-empty string")
        # A client that floods the speaker would drown everything else it has to say
        # (alarms have their own lane, but the elder still needs to hear the rest).
        now = time.monotonic()
        while self._say_times and now - self._say_times[0] > SAY_WINDOW_S:
            self._say_times.popleft()
        if len(self._say_times) >= SAY_LIMIT:
            raise ApiError(f"too many texts to say: at most {SAY_LIMIT} in {SAY_WINDOW_S:.0f} s; "
                           "this one was not spoken")
        self._say_times.append(now)
        self.speaker.say(text[:500])
        return {}


# Parts of the core that live in other packages: (module, coroutine function, enabled?).
# Each is started as a supervised task ``await fn(core)``; a missing or failing part is
# logged and never stops the SOS path.
EXTENSIONS = (
    ("hub.sensors.gpio", "run_gpio", lambda cfg: cfg.gpio.enabled),
    ("hub.rules", "run_rules", lambda cfg: True),
    ("hub.sensors.ble.service", "run_ble", lambda cfg: cfg.ble.enabled),
    ("hub.care.service", "run_care", lambda cfg: True),
)


def _takes_source(handler) -> bool:
    import inspect

    return "source" in inspect.signature(handler).parameters


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
    """Run the core until SIGTERM; the exit code for the CLI (non-zero: restart me)."""
    from hub.logfilter import install

    install()  # a repeating fault must not fill the SD card with identical tracebacks
    core = Core(config)
    core.extensions = load_extensions(config)
    try:
        asyncio.run(core.run())
    except HubError as exc:
        log.error("%s", exc)
        return 1
    return core.exit_code

