"""Speech out and the alarm sound, each owned by one worker thread.

pyttsx3's ``runAndWait()`` is not re-entrant and an exception escaping it breaks
the engine for good (pyttsx3 issue #327), so one thread creates the engine, runs
every utterance, and recreates the engine after a failure. On Linux pyttsx3 drives
espeak-ng and plays through ``aplay`` (alsa-utils).

Engines: ``pyttsx3`` (the default when it works), ``espeak-ng`` (the command, a
fallback), ``silent`` (log only: tests, and machines without audio). Whatever the
engine, every utterance is also reported to ``on_said`` so the kiosk can show it
as a caption.

Priorities (an elder's alarm must never be lost behind chatter):

* :data:`URGENT` texts (SOS phrases) go ahead of every ordinary text and are never
  dropped, and they cut off an ordinary text being spoken: pyttsx3's espeak driver
  blocks in an ``aplay`` child process, which is stopped (never the alarm sound's own
  player), so ``runAndWait`` returns at once in the one speech thread. Ordinary texts
  are also spoken in short pieces, so an interrupted one loses at most one piece.
* :data:`NORMAL` texts wait in a bounded queue; when it is full the oldest waiting
  ordinary text is dropped (and counted in :attr:`Speaker.dropped`).
* The alarm sound has its own thread and is a state, not a queue entry: asking for it
  starts ``aplay`` at once, whatever the speech thread is doing.
* Setting changes (rate, volume) are coalesced: the latest value wins, nothing queues.
"""

import collections
import logging
import math
import os
import re
import shutil
import signal
import struct
import subprocess
import threading
import time
import wave
from collections.abc import Callable
from pathlib import Path

__all__ = ["Speaker", "write_alarm_wav", "select_voice", "ENGINES", "URGENT", "NORMAL"]

log = logging.getLogger(__name__)
ENGINES = ("auto", "pyttsx3", "espeak-ng", "silent")
_ESPEAK_VOICES = {"en": "en-us", "zh_CN": "cmn", "ko": "ko"}

URGENT = 0  # SOS phrases: first in line, never dropped
NORMAL = 1  # everything else: may be dropped oldest-first when too many wait
MAX_NORMAL_WAITING = 32
# An ordinary text longer than this is spoken in pieces, so an SOS phrase waits at
# most one piece (about 5 s at 140 words per minute), not a whole long text.
PIECE_CHARS = 100


def write_alarm_wav(path: Path, *, seconds: float = 2.0, rate: int = 16000) -> Path:
    """Write a loud two-tone alarm (generated, so no binary is kept in the repo)."""
    frames = bytearray()
    for i in range(int(seconds * rate)):
        tone = 880.0 if (i // (rate // 4)) % 2 == 0 else 660.0
        frames += struct.pack("<h", int(28000 * math.sin(2 * math.pi * tone * i / rate)))
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    return path


def select_voice(voices, language: str) -> str | None:
    """The id of the voice for ``language`` among pyttsx3's voices, matched exactly.

    espeak-ng ids look like ``gmw/en-us``, ``sit/cmn`` or ``ko``; a substring match would
    pick Konkani (``inc/kok``) for Korean.
    """
    want = _ESPEAK_VOICES.get(language)
    if not want:
        return None
    for v in voices:
        langs = [str(lang).lower() for lang in (getattr(v, "languages", None) or [])]
        vid = (v.id or "").lower()
        if want in langs or vid == want or vid.endswith("/" + want):
            return v.id
    return None


def split_pieces(text: str, limit: int = PIECE_CHARS) -> list[str]:
    """Cut a text into pieces of at most ``limit`` characters, at sentence or word ends."""
    if len(text) <= limit:
        return [text]
    pieces, rest = [], text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = max((m.end() for m in re.finditer(r"[.!?;:。！？]\s*", window)), default=0)
        if cut < limit // 3:
            cut = window.rfind(" ")
        if cut < limit // 3:
            cut = limit
        pieces.append(rest[:cut].strip())
        rest = rest[cut:].strip()
    if rest:
        pieces.append(rest)
    return [p for p in pieces if p]


def _child_pids(pid: int) -> list[int]:
    """Children and grandchildren of ``pid`` (Linux /proc; empty elsewhere)."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        kids = []
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                kids += [int(k) for k in (task / "children").read_text().split()]
            except OSError:
                pass
        found += kids
        todo += kids
    return found


class Speaker:
    """Say things aloud, one at a time, without ever blocking the caller.

    :param language: ``en``, ``zh_CN`` or ``ko``.
    :param engine: one of :data:`ENGINES`.
    :param on_said: called (from the worker thread) with each text as it starts to be
        spoken (once per text, even when it is spoken in pieces).
    :param on_quiet: called (from the worker thread) when the speaker has played
        everything it had and nothing more waits; never for the silent engine, which
        plays nothing (the voice process stops hearing the hub as the elder then).
    :param alarm_wav: where to keep the generated alarm sound.
    :param max_waiting: ordinary texts that may wait; beyond that the oldest is dropped.
    """

    def __init__(self, language: str = "en", *, engine: str = "auto", rate: int = 140,
                 volume: float = 1.0, on_said: Callable[[str], None] | None = None,
                 on_quiet: Callable[[], None] | None = None,
                 alarm_wav: Path | None = None, max_waiting: int = MAX_NORMAL_WAITING):
        if engine not in ENGINES:
            raise ValueError(f"speech engine {engine!r}: use one of {', '.join(ENGINES)}")
        self.language = language
        self.engine_name = engine
        self.rate = rate
        self.volume = volume
        self.on_said = on_said
        self.on_quiet = on_quiet
        self.alarm_wav = alarm_wav
        self.max_waiting = max_waiting
        self._cond = threading.Condition()
        self._urgent: collections.deque[str] = collections.deque()
        # (text, caption?) — the remaining pieces of a long text carry no caption
        self._normal: collections.deque[tuple[str, bool]] = collections.deque()
        self._config: dict | None = None
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._engine = None
        self._alarm_cond = threading.Condition()
        self._alarm_requests: collections.deque[bool] = collections.deque()
        self._alarm_thread: threading.Thread | None = None
        self._alarm_proc: subprocess.Popen | None = None
        self._last_drop_log = 0.0
        self._speaking: int | None = None  # priority of the piece being spoken now
        self.spoken: list[str] = []
        self.dropped = 0
        self.alarms_sounded = 0

    def start(self):
        """Start the speech and alarm-sound threads."""
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="speech", daemon=True)
        self._thread.start()
        self._alarm_thread = threading.Thread(target=self._run_alarm, name="alarm-sound",
                                              daemon=True)
        self._alarm_thread.start()

    def say(self, text: str, priority: int = NORMAL):
        """Queue a text; never blocks.

        :param priority: :data:`URGENT` (SOS phrases: next in line, never dropped) or
            :data:`NORMAL` (dropped oldest-first when more than ``max_waiting`` wait).
        """
        with self._cond:
            if priority == URGENT:
                self._urgent.append(text)
                if self._speaking == NORMAL:
                    self._interrupt_current()
            else:
                while len(self._normal) >= self.max_waiting:
                    self._normal.popleft()
                    self.dropped += 1
                    now = time.monotonic()
                    if now - self._last_drop_log > 10:
                        self._last_drop_log = now
                        log.warning("too much to say: dropped the oldest waiting text "
                                    "(%d dropped so far; alarms are never dropped)",
                                    self.dropped)
                self._normal.append((text, True))
            self._cond.notify()

    def waiting(self) -> dict:
        """How many texts wait in each lane (for status and tests)."""
        with self._cond:
            return {"urgent": len(self._urgent), "normal": len(self._normal)}

    def configure(self, *, rate: int | None = None, volume: float | None = None):
        """Change the speech rate (words per minute) or volume (0.1–1.0) from now on."""
        with self._cond:
            cfg = dict(self._config or {})
            if rate is not None:
                cfg["rate"] = rate
            if volume is not None:
                cfg["volume"] = volume
            self._config = cfg
            self._cond.notify()

    def alarm(self, on: bool):
        """Start (or repeat) or stop the alarm sound, at once and never dropped."""
        with self._alarm_cond:
            self._alarm_requests.append(bool(on))
            self._alarm_cond.notify()

    def stop(self, timeout: float = 3.0):
        """Stop the worker (pending texts are dropped) and the alarm sound."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        with self._alarm_cond:
            self._alarm_cond.notify()
        if self._thread:
            self._thread.join(timeout)
        if self._alarm_thread:
            self._alarm_thread.join(timeout)
        self._stop_alarm()

    # -- worker thread -------------------------------------------------------------

    def _next(self):
        """Wait for the next job: settings first, then urgent texts, then ordinary ones."""
        with self._cond:
            while True:
                if self._stopping:
                    return "stop", None
                if self._config is not None:
                    cfg, self._config = self._config, None
                    return "config", cfg
                if self._urgent:
                    self._speaking = URGENT
                    return "say", (self._urgent.popleft(), True)
                if self._normal:
                    self._speaking = NORMAL
                    text, caption = self._normal.popleft()
                    pieces = split_pieces(text)
                    for piece in reversed(pieces[1:]):
                        self._normal.appendleft((piece, False))
                    return "say", (pieces[0], text if caption else None)
                self._cond.wait()

    def _run(self):
        while True:
            what, arg = self._next()
            if what == "stop":
                return
            try:
                if what == "config":
                    self._apply_config(arg.get("rate"), arg.get("volume"))
                else:
                    text, caption = arg
                    self._speak(text, caption=text if caption is True else caption)
            except Exception:  # a broken audio stack must not kill the alarm path
                log.exception("speech failed; recreating the engine")
                self._engine = None
            finally:
                with self._cond:
                    self._speaking = None
                    quiet = what == "say" and not self._urgent and not self._normal
            if quiet and self.on_quiet and self.engine_name != "silent":
                try:
                    self.on_quiet()
                except Exception:
                    log.exception("on_quiet failed")

    def _interrupt_current(self):
        """Cut off the ordinary text being played (called with the queue lock held).

        Stops this process's ``aplay``/``espeak-ng`` children except the alarm sound's
        player; the engine's blocking call then returns and the worker moves on.
        """
        keep = self._alarm_proc.pid if self._alarm_proc else None
        for pid in _child_pids(os.getpid()):
            if pid == keep:
                continue
            try:
                with open(f"/proc/{pid}/comm") as fh:
                    name = fh.read().strip()
                if name in ("aplay", "espeak-ng", "espeak"):
                    os.kill(pid, signal.SIGTERM)
            except OSError:
                pass

    def _apply_config(self, rate: int | None, volume: float | None):
        if rate is not None:
            self.rate = int(rate)
        if volume is not None:
            self.volume = float(volume)
        if self._engine is not None:
            self._engine.setProperty("rate", self.rate)
            self._engine.setProperty("volume", self.volume)

    def _speak(self, text: str, *, caption: str | None = None):
        if caption is not None:
            self.spoken.append(caption)
            log.info("saying: %s", caption)
            if self.on_said:
                self.on_said(caption)
        self._utter(text)

    def _utter(self, text: str):
        """Speak one piece through the engine, blocking this (the speech) thread."""
        engine = self.engine_name
        if engine in ("auto", "pyttsx3"):
            try:
                self._pyttsx3_say(text)
                return
            except Exception as exc:
                if engine == "pyttsx3":
                    raise
                log.warning("pyttsx3 unavailable (%s); using espeak-ng", exc)
                self.engine_name = engine = "espeak-ng"
        if engine == "espeak-ng":
            exe = shutil.which("espeak-ng")
            if not exe:
                log.warning("espeak-ng is not installed; speech is silent. "
                            "Install it: sudo apt-get install espeak-ng alsa-utils")
                self.engine_name = "silent"
                return
            subprocess.run([exe, "-v", _ESPEAK_VOICES.get(self.language, "en-us"),
                            "-s", str(self.rate), "-a", str(int(self.volume * 200)), text],
                           timeout=60, check=False,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _pyttsx3_say(self, text: str):
        if self._engine is None:
            import pyttsx3

            self._engine = pyttsx3.init()
            self._engine.setProperty("rate", self.rate)
            self._engine.setProperty("volume", self.volume)
            voice_id = select_voice(self._engine.getProperty("voices") or [], self.language)
            if voice_id:
                self._engine.setProperty("voice", voice_id)
            else:
                log.warning("no espeak-ng voice for %s; speaking with the default voice",
                            self.language)
        self._engine.say(text)
        self._engine.runAndWait()

    # -- alarm-sound thread ------------------------------------------------------------

    def _run_alarm(self):
        while True:
            with self._alarm_cond:
                while not self._alarm_requests and not self._stopping:
                    self._alarm_cond.wait()
                if self._stopping:
                    return
                on = self._alarm_requests.popleft()
            try:
                self._play_alarm() if on else self._stop_alarm()
            except Exception:
                log.exception("could not %s the alarm sound", "start" if on else "stop")

    def _play_alarm(self):
        self.alarms_sounded += 1
        if self.engine_name == "silent" or not self.alarm_wav:
            log.warning("ALARM SOUND (silent mode)")
            return
        if not self.alarm_wav.exists():
            write_alarm_wav(self.alarm_wav)
        player = shutil.which("aplay")
        if not player:
            log.warning("aplay is missing; cannot sound the alarm (apt-get install alsa-utils)")
            return
        self._stop_alarm()
        self._alarm_proc = subprocess.Popen([player, "-q", str(self.alarm_wav)],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _stop_alarm(self):
        proc, self._alarm_proc = self._alarm_proc, None
        if proc and proc.poll() is None:
            proc.terminate()
