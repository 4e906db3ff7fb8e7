"""Speech out and the alarm sound, each owned by one worker thread.

pyttsx3's ``runAndWait()`` is not re-entrant and an exception escaping it breaks
the engine for good (pyttsx3 issue #327), so one thread creates the engine, runs
every utterance, and recreates the engine after a failure. On Linux pyttsx3 drives
espeak-ng and plays through ``aplay`` (alsa-utils).

Engines: ``pyttsx3`` (the default when it works), ``espeak-ng`` (the command, a
fallback), ``silent`` (log only: tests, and machines without audio). Whatever the
engine, every utterance is also reported to ``on_said`` so the kiosk can show it
as a caption.
"""

import logging
import math
import queue
import shutil
import struct
import subprocess
import threading
import wave
from collections.abc import Callable
from pathlib import Path

__all__ = ["Speaker", "write_alarm_wav", "select_voice", "ENGINES"]

log = logging.getLogger(__name__)
ENGINES = ("auto", "pyttsx3", "espeak-ng", "silent")
_ESPEAK_VOICES = {"en": "en-us", "zh_CN": "cmn", "ko": "ko"}


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


class Speaker:
    """Say things aloud, one at a time, without ever blocking the caller.

    :param language: ``en``, ``zh_CN`` or ``ko``.
    :param engine: one of :data:`ENGINES`.
    :param on_said: called (from the worker thread) with each text as it is spoken.
    :param alarm_wav: where to keep the generated alarm sound.
    """

    def __init__(self, language: str = "en", *, engine: str = "auto", rate: int = 140,
                 volume: float = 1.0, on_said: Callable[[str], None] | None = None,
                 alarm_wav: Path | None = None):
        if engine not in ENGINES:
            raise ValueError(f"speech engine {engine!r}: use one of {', '.join(ENGINES)}")
        self.language = language
        self.engine_name = engine
        self.rate = rate
        self.volume = volume
        self.on_said = on_said
        self.alarm_wav = alarm_wav
        self._queue: queue.Queue = queue.Queue(maxsize=32)
        self._thread: threading.Thread | None = None
        self._engine = None
        self._alarm_proc: subprocess.Popen | None = None
        self.spoken: list[str] = []

    def start(self):
        """Start the worker thread."""
        self._thread = threading.Thread(target=self._run, name="speech", daemon=True)
        self._thread.start()

    def say(self, text: str):
        """Queue a text; when the queue is full the oldest waiting text is dropped."""
        while True:
            try:
                self._queue.put_nowait(("say", text))
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    pass

    def configure(self, *, rate: int | None = None, volume: float | None = None):
        """Change the speech rate (words per minute) or volume (0.1–1.0) from now on."""
        try:
            self._queue.put_nowait(("config", {"rate": rate, "volume": volume}))
        except queue.Full:
            log.warning("speech queue full; setting change dropped")

    def alarm(self, on: bool):
        """Start (or repeat) or stop the alarm sound."""
        try:
            self._queue.put_nowait(("alarm", on))
        except queue.Full:
            log.warning("speech queue full; alarm sound request dropped")

    def stop(self, timeout: float = 3.0):
        """Stop the worker (pending texts are dropped)."""
        try:
            self._queue.put_nowait(("stop", None))
        except queue.Full:
            pass
        if self._thread:
            self._thread.join(timeout)
        self._stop_alarm()

    # -- worker thread -------------------------------------------------------------

    def _run(self):
        while True:
            what, arg = self._queue.get()
            if what == "stop":
                return
            try:
                if what == "say":
                    self._speak(arg)
                elif what == "config":
                    self._apply_config(**arg)
                elif arg:
                    self._play_alarm()
                else:
                    self._stop_alarm()
            except Exception:  # a broken audio stack must not kill the alarm path
                log.exception("speech failed; recreating the engine")
                self._engine = None

    def _apply_config(self, rate: int | None, volume: float | None):
        if rate is not None:
            self.rate = int(rate)
        if volume is not None:
            self.volume = float(volume)
        if self._engine is not None:
            self._engine.setProperty("rate", self.rate)
            self._engine.setProperty("volume", self.volume)

    def _speak(self, text: str):
        self.spoken.append(text)
        log.info("saying: %s", text)
        if self.on_said:
            self.on_said(text)
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
                            "-s", str(self.rate), "-a", str(int(self.volume * 200)), text], timeout=60, check=False,
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

    def _play_alarm(self):
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
