"""Audio in: where 16 kHz mono PCM comes from, and where an utterance starts and ends.

This module owns the audio *sources* (the microphone through sounddevice, a WAV file,
raw PCM on stdin) and the :class:`Endpointer` (energy-based voice activity detection
with an adaptive noise floor). It does not recognise anything.

Privacy: audio lives only in memory, frame by frame; nothing here writes it to disk or
sends it anywhere.

Every source delivers fixed frames of :data:`FRAME_MS` from its own thread into a
bounded queue, so a slow recogniser can never block the sound card (the oldest frames
are dropped and counted instead).
"""

import logging
import queue
import sys
import threading
import time
import wave
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hub.errors import HubError

__all__ = ["Frame", "Endpointer", "Utterance", "MicSource", "WavSource", "StdinSource",
           "FRAME_MS", "RATE", "read_wav_pcm"]

log = logging.getLogger(__name__)
RATE = 16000
FRAME_MS = 30
FRAME_BYTES = RATE * FRAME_MS // 1000 * 2
_END = None


@dataclass
class Frame:
    """One frame of 16-bit mono PCM and the monotonic time its last sample was captured."""

    pcm: bytes
    t: float


class _Source:
    """A thread that puts :class:`Frame` objects into :attr:`frames`; None ends the stream."""

    def __init__(self, max_frames: int = 400):
        self.frames: queue.Queue = queue.Queue(maxsize=max_frames)
        self.dropped = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _put(self, frame):
        while True:
            try:
                self.frames.put_nowait(frame)
                return
            except queue.Full:
                try:  # drop the oldest: late audio is worth less than current audio
                    self.frames.get_nowait()
                    self.dropped += 1
                except queue.Empty:
                    pass

    def start(self):
        """Start delivering frames."""
        self._thread = threading.Thread(target=self._run, name=type(self).__name__,
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Stop delivering frames."""
        self._stop.set()

    def _run(self):
        raise NotImplementedError


def read_wav_pcm(path: Path) -> bytes:
    """The PCM of a 16 kHz mono 16-bit WAV file.

    :raises HubError: another format, in words with the sox command that converts it.
    """
    try:
        with wave.open(str(path), "rb") as w:
            fmt = (w.getframerate(), w.getnchannels(), w.getsampwidth())
            if fmt != (RATE, 1, 2):
                raise HubError(
                    f"{path} is {fmt[0]} Hz, {fmt[1]} channel(s), {8 * fmt[2]}-bit; the hub "
                    f"needs 16000 Hz mono 16-bit. Convert it: sox {path} -r 16000 -c 1 -b 16 "
                    "out.wav")
            return w.readframes(w.getnframes())
    except (wave.Error, EOFError) as exc:
        raise HubError(f"{path} is not a WAV file ({exc})") from None
    except FileNotFoundError:
        raise HubError(f"{path} does not exist") from None


class WavSource(_Source):
    """Frames from a WAV file (tests, ``hub voice test``, ``hub voice run --input``).

    :param realtime: pace frames like a microphone would (for latency measurements and
        end-to-end tests); otherwise as fast as they are read.
    :param tail_s: silence appended so the last utterance ends.
    """

    def __init__(self, path: Path, *, realtime: bool = False, tail_s: float = 1.0,
                 max_frames: int = 100000):
        super().__init__(max_frames)
        self.pcm = read_wav_pcm(Path(path))
        self.realtime = realtime
        self.tail = bytes(int(tail_s * RATE) * 2)
        self.started_at = 0.0  # monotonic time of the file's first sample (realtime)

    def _run(self):
        pcm = self.pcm + self.tail
        start = self.started_at = time.monotonic()
        for i in range(0, len(pcm) - FRAME_BYTES + 1, FRAME_BYTES):
            if self._stop.is_set():
                break
            t = start + (i + FRAME_BYTES) / 2 / RATE
            if self.realtime:
                delay = t - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            self._put(Frame(pcm[i:i + FRAME_BYTES], t if self.realtime else time.monotonic()))
        self._put(_END)


class StdinSource(_Source):
    """Raw 16 kHz mono 16-bit PCM on standard input (e.g. ``arecord -f S16_LE -r 16000``)."""

    def _run(self):
        stream = sys.stdin.buffer
        while not self._stop.is_set():
            data = stream.read(FRAME_BYTES)
            if len(data) < FRAME_BYTES:
                break
            self._put(Frame(data, time.monotonic()))
        self._put(_END)


class MicSource(_Source):
    """The microphone through sounddevice (PortAudio), 16 kHz mono, in its own thread.

    :param device: a sounddevice device name or index; None = the default input.
    """

    def __init__(self, device=None, max_frames: int = 400):
        super().__init__(max_frames)
        self.device = device

    def _run(self):
        try:
            import sounddevice as sd
        except (ImportError, OSError) as exc:
            log.error("no microphone support (%s): pip install sounddevice; "
                      "apt-get install libportaudio2", exc)
            self._put(_END)
            return

        def callback(indata, frames, time_info, status):
            if status:
                log.debug("microphone: %s", status)
            self._put(Frame(bytes(indata), time.monotonic()))

        try:
            with sd.RawInputStream(samplerate=RATE, channels=1, dtype="int16",
                                   blocksize=FRAME_BYTES // 2, device=self.device,
                                   callback=callback):
                while not self._stop.wait(0.5):
                    pass
        except Exception as exc:  # PortAudioError, no device…
            log.error("cannot open the microphone %s: %s. Is it plugged in? Check "
                      "`arecord -l` and that this user is in the 'audio' group.",
                      self.device or "(default)", exc)
        self._put(_END)


@dataclass
class Utterance:
    """Speech between two silences: its PCM, when the speaker stopped, how much was voiced."""

    pcm: bytes
    end_t: float  # capture time of the last voiced frame (end of speech)
    voiced_ms: int = 0  # voiced frames in it (a click or a cough is only a few)


class Endpointer:
    """Energy voice activity detection with a noise floor that follows the background.

    **Noise floor**: the level of the quietest frame of the last ``floor_window_ms``
    (minimum statistics) while nobody speaks; it falls at once, in speech too. During
    speech it *rises* only to a steady sound: when the last ``steady_ms`` of frames lie
    within ``steady_db`` of each other (a fan, a kettle, a TV's hiss switched on — speech
    swings by 15 dB and more within a second), that sound becomes the floor and stops
    counting as speech. (The floor used to be frozen during speech, so such a noise
    kept an utterance open until ``max_s``, 8 s.) A floor that rose to *any* background
    during speech (the minimum of the window) was measured and rejected: when a noisy
    sentence began together with its noise (radio-like speech in the 30-minute soak),
    the floor rose in mid-sentence and cut it into fragments, two of which the
    recogniser took as "emergency" and "help me" — 2 false SOS in 30 minutes of English
    where the frozen floor had none.

    **Voiced** frames are ``threshold_db`` above the floor to *start* speech
    (``start_frames`` in a row) but only ``hold_db`` above it to *continue* it
    (hysteresis), so the soft ends of words in noise do not cut a sentence into
    fragments that could each sound like a command. Speech ends after ``end_ms`` of
    unvoiced frames; a pre-roll keeps the first consonant. Frames are handed on while
    speech goes on, so a streaming recogniser has little left to do when it ends.

    :param on_start: called when speech starts.
    :param on_frame: called with each PCM chunk of the utterance (pre-roll included).
    :param on_end: called with the :class:`Utterance` when speech ends.
    :param on_pause: called with the length of the pause so far (frames) on each unvoiced
        frame in speech, so a listener can decode ahead while the end is being confirmed.
    :param on_resume: called when speech goes on after such a pause.
    """

    def __init__(self, *, end_ms: int = 300, threshold_db: float = 9.0, hold_db: float = 6.0,
                 floor_window_ms: int = 1500, steady_ms: int = 1000, steady_db: float = 9.0,
                 start_frames: int = 3, max_s: float = 8.0, preroll_frames: int = 10,
                 on_start=None, on_frame=None, on_end=None, on_pause=None, on_resume=None):
        self.end_frames = max(1, end_ms // FRAME_MS)
        self.on_pause, self.on_resume = on_pause, on_resume
        self.threshold_db = threshold_db
        self.hold_db = min(hold_db, threshold_db)
        self.start_frames = start_frames
        self.max_frames = int(max_s * 1000 / FRAME_MS)
        self.preroll_frames = preroll_frames
        self.on_start, self.on_frame, self.on_end = on_start, on_frame, on_end
        self._levels: deque[float] = deque(maxlen=max(1, floor_window_ms // FRAME_MS))
        self.steady_frames = min(self._levels.maxlen, max(1, steady_ms // FRAME_MS))
        self.steady_db = steady_db
        self.floor_db = -90.0
        self._pre: list[Frame] = []
        self._voiced_run = 0
        self._in_speech = False
        self._silent_run = 0
        self._voiced = 0
        self._frames: list[bytes] = []
        self._last_voiced_t = 0.0

    @staticmethod
    def level_db(pcm: bytes) -> float:
        """RMS level in dBFS."""
        x = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
        rms = float(np.sqrt(np.mean(x * x))) if len(x) else 0.0
        return 20 * np.log10(max(rms, 1.0) / 32768.0)

    @property
    def in_speech(self) -> bool:
        """Speech is going on."""
        return self._in_speech

    def process(self, frame: Frame):
        """Take one frame."""
        level = self.level_db(frame.pcm)
        self._levels.append(level)
        if not self._in_speech:
            self.floor_db = min(self._levels)
        elif level < self.floor_db:
            self.floor_db = level
        else:  # in speech the floor rises only to a steady sound (see the class notes)
            recent = list(self._levels)[-self.steady_frames:]
            if len(recent) == self.steady_frames and max(recent) - min(recent) <= self.steady_db:
                self.floor_db = max(self.floor_db, min(recent))
        above = level - self.floor_db
        if not self._in_speech:
            self._pre.append(frame)
            del self._pre[:-self.preroll_frames]
            voiced = above > self.threshold_db and level > -55.0
            self._voiced_run = self._voiced_run + 1 if voiced else 0
            if self._voiced_run >= self.start_frames:
                self._in_speech = True
                self._silent_run = 0
                self._voiced = self._voiced_run
                self._frames = []
                self._last_voiced_t = frame.t
                if self.on_start:
                    self.on_start()
                for f in self._pre:
                    self._emit(f.pcm)
                self._pre = []
            return
        self._emit(frame.pcm)
        if above > self.hold_db and level > -58.0:
            if self._silent_run and self.on_resume:
                self.on_resume()
            self._silent_run = 0
            self._voiced += 1
            self._last_voiced_t = frame.t
        else:
            self._silent_run += 1
            if self.on_pause:
                self.on_pause(self._silent_run)
        if self._silent_run >= self.end_frames or len(self._frames) >= self.max_frames:
            self.flush()

    @property
    def pcm(self) -> bytes:
        """The current utterance so far (pre-roll included)."""
        return b"".join(self._frames)

    @property
    def voiced_ms(self) -> int:
        """Voiced audio in the current utterance so far."""
        return self._voiced * FRAME_MS

    def flush(self):
        """End the current utterance now (end of stream)."""
        if not self._in_speech:
            return
        self._in_speech = False
        self._voiced_run = 0
        utt = Utterance(b"".join(self._frames), self._last_voiced_t, self._voiced * FRAME_MS)
        self._frames = []
        if self.on_end:
            self.on_end(utt)

    def _emit(self, pcm: bytes):
        self._frames.append(pcm)
        if self.on_frame:
            self.on_frame(pcm)
