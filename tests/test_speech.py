"""Speech out: the right espeak-ng voice per language, every core phrase really
synthesised by pyttsx3, the alarm sound, and a speaker that never blocks its caller."""

import shutil
import threading
import time
import wave

import pytest

from hub.phrases import PHRASES, phrase
from hub.voice.speech import Speaker, select_voice, write_alarm_wav

PARAMS = {"seconds": 10, "responder": "Li Wei", "contact": "Li Wei", "count": 2, "day": 3,
          "dose": "one tablet", "label": "blood pressure", "month": 12, "time": "08:00"}

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


class PacedSpeaker(Speaker):
    """A speaker whose engine takes as long as real speech: about 0.4 s a word.

    CI machines have no sound card, so pyttsx3 returns in milliseconds there; on a hub
    ``runAndWait`` blocks while ``aplay`` plays. This engine blocks the same way.
    """

    def _pyttsx3_say(self, text):
        self._cut = threading.Event()
        self._cut.wait(0.05 + 0.4 * len(text.split()) * 140 / max(self.rate, 1) / 2.33)

    def _interrupt_current(self):  # what stopping aplay does on a hub
        cut = getattr(self, "_cut", None)
        if cut is not None:
            cut.set()


def test_sos_phrase_is_heard_within_a_second_through_a_speech_flood():
    from hub.voice.speech import URGENT

    said = []
    heard = {}
    speaker = PacedSpeaker("en", engine="pyttsx3",
                           on_said=lambda t: (said.append(t), heard.setdefault(t, time.monotonic())))
    speaker.start()
    try:
        sos = phrase("sos_raised", "en")
        t_end = time.monotonic() + 4
        n = 0
        pressed_at = None
        while time.monotonic() < t_end:  # 17 texts a second, as a misbehaving client did
            speaker.say(f"chatter number {n}")
            n += 1
            if pressed_at is None and time.monotonic() > t_end - 3:
                pressed_at = time.monotonic()
                speaker.say(sos, priority=URGENT)
            time.sleep(1 / 17)
        assert sos in heard, "the SOS phrase was dropped in the flood"
        assert heard[sos] - pressed_at < 1.0
        assert speaker.dropped > 0  # ordinary chatter did overflow, oldest first
        chatter = [int(t.split()[-1]) for t in said if t.startswith("chatter")]
        assert chatter == sorted(chatter)
    finally:
        speaker.stop()


def test_alarm_sound_request_is_never_dropped_by_a_speech_flood(tmp_path):
    speaker = PacedSpeaker("en", engine="pyttsx3")
    speaker.start()
    try:
        for n in range(200):
            speaker.say(f"chatter {n}")
        speaker.alarm(True)
        deadline = time.monotonic() + 1.0
        while speaker.alarms_sounded == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert speaker.alarms_sounded == 1
    finally:
        speaker.stop()


def test_long_ordinary_text_is_spoken_in_pieces_so_an_sos_waits_little():
    from hub.voice.speech import URGENT, split_pieces

    long_text = " ".join(f"word{n}." for n in range(80))
    pieces = split_pieces(long_text)
    assert len(pieces) > 3 and all(len(p) <= 100 for p in pieces)
    assert " ".join(pieces) == long_text
    said = []
    heard = {}
    speaker = PacedSpeaker("en", engine="pyttsx3",
                           on_said=lambda t: (said.append(t), heard.setdefault(t, time.monotonic())))
    speaker.start()
    try:
        speaker.say(long_text)
        time.sleep(0.3)
        t0 = time.monotonic()
        speaker.say("Help is being called.", priority=URGENT)
        deadline = time.monotonic() + 10
        while "Help is being called." not in heard and time.monotonic() < deadline:
            time.sleep(0.01)
        assert heard["Help is being called."] - t0 < 5.0
        assert said[0] == long_text  # one caption for the whole text
    finally:
        speaker.stop()


def test_an_sos_stops_the_audio_player_of_ordinary_speech_but_never_the_alarm_sound(tmp_path):
    import subprocess

    # Stand-ins for the players pyttsx3 and the alarm start: real child processes whose
    # name is "aplay" (a copy of sleep), found through /proc as the real ones are.
    fake = tmp_path / "aplay"
    shutil.copy(shutil.which("sleep"), fake)
    speech_player = subprocess.Popen([str(fake), "30"])
    alarm_player = subprocess.Popen([str(fake), "30"])
    speaker = Speaker("en", engine="silent")
    speaker._alarm_proc = alarm_player
    try:
        speaker._interrupt_current()
        assert speech_player.wait(5) != 0  # stopped
        assert alarm_player.poll() is None  # the alarm sound plays on
    finally:
        for p in (speech_player, alarm_player):
            p.kill()
            p.wait()
