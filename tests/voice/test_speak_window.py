"""The kiosk's Speak button, core and voice side: whether voice is alive, `voice.listen`,
and the listening window the voice process opens, reports and closes.

Real core daemon, real Unix socket; in the last tests the real voice process
(`hub voice run --input -`, pocketsphinx) hears raw PCM paced in real time on its
stdin, as from a microphone, and espeak-ng speech in it.
"""

import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from hub.errors import ApiError
from hub.voice.grammar import load_language
from hub.voice.listener import speech_seconds
from tests.conftest import ROOT
from tests.voice import corpus
from tests.voice.scripted import ScriptedEngine, speak_into

PROMPT = load_language("en").reply("speak_prompt")


class Watcher:
    """A kiosk-like client that keeps every push it gets, with the time it came."""

    def __init__(self, core, topics=("voice", "say")):
        self.got: list[tuple[float, str, dict]] = []
        self.client = core.client()
        self.client.on_push = lambda topic, data: self.got.append((time.monotonic(), topic,
                                                                   data))
        self.hello = self.client.request("hello", client="kiosk")
        self.client.subscribe(list(topics))

    def wait(self, topic, pred=lambda d: True, timeout=10.0, after=0.0):
        """The first push of ``topic`` matching ``pred`` that came after ``after``: (t, data)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for t, top, data in list(self.got):
                if top == topic and t >= after and pred(data):
                    return t, data
            time.sleep(0.02)
        raise AssertionError(f"no {topic} push matching within {timeout} s; got {self.got}")

    def voice(self, after=0.0) -> list[dict]:
        return [d for t, top, d in self.got if top == "voice" and t >= after and "alive" in d]


def test_voice_listen_needs_a_voice_client_and_alive_follows_it(core):
    kiosk = Watcher(core)
    assert kiosk.hello["voice"] == {"alive": False, "listening": False}
    kiosk.wait("voice", lambda d: d == {"alive": False, "listening": False})  # on subscribe
    with pytest.raises(ApiError, match="voice is not running"):
        kiosk.client.request("voice.listen")
    with pytest.raises(ApiError, match="for the voice process"):
        kiosk.client.request("voice.state", listening=True)
    with pytest.raises(ApiError, match="listening must be true or false"):
        kiosk.client.request("voice.state", listening="yes")

    voice = core.client()
    heard = []
    voice.on_push = lambda topic, data: heard.append((topic, data))
    voice.subscribe(["voice"])
    assert voice.request("hello", client="voice")["voice"]["alive"] is True
    t, _ = kiosk.wait("voice", lambda d: d.get("alive") is True)
    assert core.client().request("status")["core"]["voice"]["alive"] is True
    assert kiosk.client.request("voice.listen") == {}
    deadline = time.monotonic() + 5
    while ("voice", {"listen": True}) not in heard and time.monotonic() < deadline:
        time.sleep(0.02)
    assert ("voice", {"listen": True}) in heard
    assert voice.request("voice.state", listening=True) == {"alive": True, "listening": True}
    kiosk.wait("voice", lambda d: d.get("listening") is True)
    voice.close()  # gone with its window open: neither alive nor listening
    kiosk.wait("voice", lambda d: d == {"alive": False, "listening": False}, after=t)
    with pytest.raises(ApiError, match="voice is not running"):
        kiosk.client.request("voice.listen")


_HOLDER = """
import sys, time
from hub.api import ApiClient
c = ApiClient(sys.argv[1]).connect()
c.request("hello", client="voice")
print("ready", flush=True)
time.sleep(600)
"""


def test_a_sigkilled_voice_process_is_seen_gone(core):
    kiosk = Watcher(core)
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(core.socket)], cwd=str(ROOT),
                            env=core.env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        t, _ = kiosk.wait("voice", lambda d: d.get("alive") is True)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        kiosk.wait("voice", lambda d: d.get("alive") is False, after=t)
        with pytest.raises(ApiError, match="voice is not running"):
            kiosk.client.request("voice.listen")
        # The SOS path never looked at any of it.
        assert kiosk.client.request("sos.press")["state"] == "countdown"
    finally:
        proc.kill()


class Mic:
    """Raw PCM on the voice process's stdin, 30 ms at a time in real time, like a microphone:
    faint noise, and speech when :meth:`say` queues some."""

    def __init__(self, proc):
        self.proc = proc
        self.queue: list[np.ndarray] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def say(self, samples: np.ndarray):
        self.queue.append(samples)

    def _run(self):
        rng = np.random.default_rng(1)
        frame = 480  # 30 ms at 16 kHz
        speech = np.zeros(0, dtype="<i2")
        next_t = time.monotonic()
        try:
            while not self.stop.is_set():
                if not len(speech) and self.queue:
                    speech = self.queue.pop(0)
                chunk = rng.integers(-4, 5, frame).astype("<i2")
                if len(speech):
                    part = speech[:frame]
                    chunk[:len(part)] = part
                    speech = speech[frame:]
                self.proc.stdin.write(chunk.tobytes())
                self.proc.stdin.flush()
                next_t += 0.03
                time.sleep(max(0.0, next_t - time.monotonic()))
        except (BrokenPipeError, ValueError, OSError):
            pass


@pytest.mark.slow
def test_the_voice_process_opens_reports_and_closes_its_window(core_factory, tmp_path,
                                                               corpus_dir):
    core = core_factory(voice={"window_s": 3.0,
                               "models_dir": str(tmp_path / "no-models")}).start()
    kiosk = Watcher(core)
    kiosk.client.request("settings.set", key="speech_rate", value=250)  # a shorter prompt
    speech = corpus.read_wav(corpus.synth("what time is it", "en-us", 140,
                                          tmp_path / "time.wav", pad=(0.1, 0.1)))
    echo = corpus.read_wav(corpus.synth(PROMPT, "en-us", 140, tmp_path / "prompt.wav",
                                        pad=(0.05, 0.1)))
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub", "--config", str(core.config_path), "voice", "run",
         "--input", "-", "--language", "en"], cwd=str(ROOT), env=core.env,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    mic = Mic(proc)
    try:
        t_alive, _ = kiosk.wait("voice", lambda d: d.get("alive") is True, timeout=60)

        # A press: the prompt is said through the core, the window opens and is shown...
        t0 = time.monotonic()
        kiosk.client.request("voice.listen")
        t_prompt, said = kiosk.wait("say", after=t0)
        assert said["text"] == PROMPT
        t_open, _ = kiosk.wait("voice", lambda d: d.get("listening") is True, after=t0)
        # ...and the command said once the hub has finished its prompt closes it.
        time.sleep(max(0.0, t_prompt + speech_seconds(PROMPT, 250) + 0.2 - time.monotonic()))
        t_spoke = time.monotonic()
        mic.say(speech)
        t_reply, reply = kiosk.wait("say", lambda d: d["text"].startswith("It is"),
                                    after=t_spoke, timeout=15)
        t_closed, _ = kiosk.wait("voice", lambda d: d.get("listening") is False, after=t_open,
                                 timeout=15)
        assert t_closed >= t_reply - 0.05, "the window closed before the command was handled"
        assert t_closed - t_reply < 2.0, "the window stayed open after the command"

        # A press, the microphone hearing the hub's own prompt, then silence: the echo is
        # not a command nor "not understood" (no re-ask loop); the window closes by itself
        # after window_s, not before.
        t1 = time.monotonic()
        kiosk.client.request("voice.listen")
        kiosk.wait("say", lambda d: d["text"] == PROMPT, after=t1)
        mic.say(echo)
        t_open, _ = kiosk.wait("voice", lambda d: d.get("listening") is True, after=t1)
        t_shut, _ = kiosk.wait("voice", lambda d: d.get("listening") is False, after=t_open,
                               timeout=15)
        assert t_shut - t1 >= 3.0
        spoken = [d["text"] for t, top, d in kiosk.got if top == "say" and t >= t1]
        assert spoken == [PROMPT], spoken  # silence: nothing re-asked, nothing done

        # The voice process dies: Speak is gone at once, the button falls back.
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        kiosk.wait("voice", lambda d: d.get("alive") is False, after=t_shut)
    finally:
        mic.stop.set()
        proc.kill()
        proc.wait(10)


def test_two_re_asks_then_the_window_closes_without_a_word():
    """Not understood in the window: asked again twice, then the buttons are there."""
    from hub.voice.engines import Hypothesis
    from hub.voice.listener import VoiceListener

    said = []
    listener = VoiceListener(load_language("en"), engine=None,
                             request=lambda cmd, **a: said.append(a.get("text")), window_s=5)
    listener.open_window()
    heard = [listener.handle(Hypothesis("what", 1.0, 1.0, 0.01)).action for _ in range(3)]
    assert heard == ["asked_again", "asked_again", "rejected"]
    assert not listener.window_open and len(said) == 2
    assert listener.tick() is False  # reported closed


def test_what_begins_while_the_hub_speaks_is_not_addressed_by_the_window():
    from hub.voice.listener import VoiceListener

    clock = [100.0]
    said = []
    listener = VoiceListener(load_language("en"), ScriptedEngine("what"),
                             lambda cmd, **a: said.append(a.get("text")), window_s=8,
                             clock=lambda: clock[0])
    speak_into(listener, 0.0, clock)  # a little quiet first: the noise floor
    listener.on_push("voice", {"listen": True})
    assert listener.tick() is True and said == [PROMPT]  # the prompt, window reported open
    speak_into(listener, 1.0, clock)  # the microphone hears the prompt itself
    assert [o.action for o in listener.outcomes] == ["echo"] and said == [PROMPT]
    assert listener.window_open
    clock[0] += speech_seconds(PROMPT, listener.speech_rate)
    speak_into(listener, 1.0, clock)  # the elder, after the prompt: asked again
    assert listener.outcomes[-1].action == "asked_again" and len(said) == 2


def test_the_engines_second_opinion_runs_only_for_an_open_window():
    """A second opinion (Korean: a free decode, up to seconds of CPU) can only give a
    command for an open window; outside one it would only make an SOS said next wait."""
    from hub.voice.listener import VoiceListener

    seen = []

    class _Recording(ScriptedEngine):
        def finish(self):
            seen.append(self.rescue)
            return super().finish()

    clock = [100.0]
    listener = VoiceListener(load_language("ko"), _Recording("더 크게"), None,
                             clock=lambda: clock[0])
    speak_into(listener, 0.0, clock)  # the noise floor
    speak_into(listener, 1.0, clock)  # talk in the room: no window
    listener.on_push("voice", {"listen": True})
    speak_into(listener, 1.0, clock)  # after the Speak button
    assert seen == [False, True]
    assert [o.command for o in listener.outcomes] == ["louder", "louder"]
    assert listener.outcomes[0].action == "needs_wake"
