"""End to end: speech in a WAV file → `hub voice run` → a real core subprocess.

The WAV is made by espeak-ng; the recogniser is the real one (pocketsphinx for
English); the core is the real daemon. Nothing between them is faked.
"""

import subprocess
import sys
import time

import numpy as np
import pytest

from tests.conftest import ROOT
from tests.voice import corpus

pytestmark = pytest.mark.slow


def _utterances(tmp_path, parts, language="en", voice="en-us"):
    """One WAV: each (text, seconds of silence after it)."""
    chunks = []
    for i, (text, gap) in enumerate(parts):
        clip = corpus.synth(text, voice, 140, tmp_path / f"part{i}.wav", pad=(0.2, 0.2))
        chunks += [corpus.read_wav(clip), np.zeros(int(gap * corpus.RATE), dtype="<i2")]
    path = tmp_path / "speech.wav"
    corpus.write_wav(path, np.concatenate(chunks))
    return path


def _voice(core, wav, language="en"):
    return subprocess.Popen(
        [sys.executable, "-m", "hub", "--config", str(core.config_path), "voice", "run",
         "--input", str(wav), "--language", language],
        cwd=str(ROOT), env=core.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)


def test_spoken_help_starts_countdown_and_cancel_cancels_it(core_factory, tmp_path,
                                                           corpus_dir):
    core = core_factory(sos={"countdown": 14},
                        voice={"models_dir": str(tmp_path / "no-models")}).start()
    watcher = core.client(subscribe=True)
    # "cancel" after the hub has said "Calling for help in 14 seconds. Say cancel to stop."
    # (about 4.7 s with the silent engine's estimate): said over it, it would be taken for
    # the hub's own voice (test_hub_echo.py).
    wav = _utterances(tmp_path, [("help me", 6.0), ("cancel", 1.5)])
    proc = _voice(core, wav)
    try:
        started = watcher.wait_push("sos", lambda d: d.get("state") == "countdown", timeout=30)
        assert started["source"] == "voice"
        ended = watcher.wait_push("sos", lambda d: d.get("state") == "idle", timeout=30)
        assert (ended.get("last") or {}).get("state") == "cancelled"
        out, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, out
    assert "sos.press" in out and "sos.cancel" in out
    events = core.client().request("sos.state")
    assert events["state"] == "idle"


def test_ordinary_speech_raises_nothing(core_factory, tmp_path, corpus_dir):
    core = core_factory(voice={"models_dir": str(tmp_path / "no-models")}).start()
    wav = _utterances(tmp_path, [("can you help me with the crossword later", 1.0),
                                 ("there was no emergency today", 1.0),
                                 ("help yourself to some cake", 1.0)])
    proc = _voice(core, wav)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert "sos.press" not in out, out
    assert core.client().request("sos.state")["state"] == "idle"


def test_voice_process_killed_does_not_touch_the_core(core_factory, tmp_path, corpus_dir):
    core = core_factory(voice={"models_dir": str(tmp_path / "no-models")}).start()
    wav = _utterances(tmp_path, [("hello hub", 3.0)])
    proc = _voice(core, wav)
    time.sleep(1.5)
    proc.kill()
    proc.wait(10)
    client = core.client()
    assert client.request("sos.press", id=None)["state"] == "countdown"
    assert core.proc.poll() is None
