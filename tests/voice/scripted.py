"""A recogniser that hears given words, and audio to make the endpointer cut utterances:
for tests of *when* the listener acts, not of what the real recognisers hear (those run
on the corpus in test_corpus.py and test_hub_echo.py)."""

import time

import numpy as np

from hub.voice.audio import Frame
from hub.voice.engines import Hypothesis


class ScriptedEngine:
    """Each utterance decodes as the next text of :attr:`script`, or as ``text`` once the
    script is used up. :attr:`rescue` is set by the listener like a real engine's."""

    name = "scripted"
    rescue = True

    def __init__(self, text: str = ""):
        self.text = text
        self.script: list[str] = []

    def feed(self, pcm):
        pass

    def finish(self) -> Hypothesis:
        return Hypothesis(self.script.pop(0) if self.script else self.text, 1.0, 1.0, 0.01)


def speak_into(listener, seconds: float, clock: list | None = None):
    """Frames of loud noise for ``seconds``, then 0.6 s of quiet that ends the utterance
    (``seconds`` = 0: quiet only, the endpointer's noise floor). With ``clock`` (the
    one-item list a test's listener reads its time from) the frames move it on 30 ms
    each; without, they carry the real time."""
    rng = np.random.default_rng(2)
    for i in range(int(seconds / 0.03) + 20):
        loud = i < seconds / 0.03
        pcm = rng.integers(-8000 if loud else -3, 8001 if loud else 4, 480).astype("<i2")
        if clock is not None:
            clock[0] += 0.03
        listener.feed_frame(Frame(pcm.tobytes(), clock[0] if clock else time.monotonic()))


def wait(pred, timeout: float = 15) -> bool:
    """Poll ``pred`` until it is true or ``timeout`` seconds pass."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    return False
