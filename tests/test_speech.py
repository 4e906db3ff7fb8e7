"""Speech out: the right espeak-ng voice per language, every core phrase really
synthesised by pyttsx3, the alarm sound, and a speaker that never blocks its caller."""

import shutil
import time
import wave

import pytest

from hub.phrases import PHRASES, phrase
from hub.voice.speech import Speaker, select_voice, write_alarm_wav

PARAMS = {"seconds": 10, "responder": "Li Wei"}

pyttsx3 = pytest.importorskip("pyttsx3")
needs_espeak = pytest.mark.skipif(not shutil.which("espeak-ng"), reason="espeak-ng missing")


@pytest.fixture(scope="module")
def engine():
    try:
        return pyttsx3.init()
    except Exception as exc:  # no espeak-ng library
        pytest.skip(f"pyttsx3 cannot start: {exc}")


@needs_espeak
@pytest.mark.parametrize("language, voice", [("en", "gmw/en-us"), ("zh_CN", "sit/cmn"),
                                             ("ko", "ko")])
def test_each_language_gets_its_own_voice_not_a_lookalike(engine, language, voice):
    assert select_voice(engine.getProperty("voices"), language) == voice


@needs_espeak
@pytest.mark.parametrize("language", ["en", "zh_CN", "ko"])
def test_every_core_phrase_is_synthesised_to_audio(engine, tmp_path, language):
    engine.setProperty("voice", select_voice(engine.getProperty("voices"), language))
    for key in PHRASES:
        out = tmp_path / f"{key}-{language}.wav"
        engine.save_to_file(phrase(key, language, **PARAMS), str(out))
        engine.runAndWait()
        with wave.open(str(out)) as w:
            seconds = w.getnframes() / w.getframerate()
        assert seconds > 0.5, f"{key} in {language} produced {seconds:.2f} s of audio"


def test_alarm_sound_is_a_real_wav(tmp_path):
    path = write_alarm_wav(tmp_path / "alarm.wav", seconds=1.0)
    with wave.open(str(path)) as w:
        assert w.getnchannels() == 1 and w.getframerate() == 16000
        assert w.getnframes() == 16000


def test_speaker_reports_captions_in_order_and_never_blocks_the_caller():
    said = []
    speaker = Speaker("en", engine="silent", on_said=said.append)
    speaker.start()
    t0 = time.monotonic()
    for i in range(100):  # more than the queue holds: the oldest waiting texts are dropped
        speaker.say(f"text {i}")
    assert time.monotonic() - t0 < 0.5
    deadline = time.monotonic() + 5
    while "text 99" not in said and time.monotonic() < deadline:
        time.sleep(0.01)
    speaker.stop()
    assert said[-1] == "text 99"
    assert said == sorted(said, key=lambda t: int(t.split()[1]))


def test_unknown_engine_is_a_clear_error():
    with pytest.raises(ValueError, match="use one of auto, pyttsx3, espeak-ng, silent"):
        Speaker("en", engine="festival")
