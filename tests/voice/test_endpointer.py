"""Where an utterance starts and ends, on real audio: espeak-ng speech and sox pink noise.

The endpointer's noise floor must follow a background that gets louder — a fan, a
kettle, a TV's hiss switched on while the hub listens, or just after the elder spoke —
or that noise counts as speech until ``max_s`` (8 s): the elder's "help me" would be
held back that long, and a command said in the meantime would be swallowed. It must
also not cut one sentence said in noise into fragments that could each sound like a
command ("help … yourself to some cake").
"""

import numpy as np
import pytest

from hub.voice.audio import FRAME_MS, Endpointer, Frame, RATE
from tests.voice import corpus

FRAME = RATE * FRAME_MS // 1000


def _speech(text, tmp_path, speed=140):
    """Speech cut 50 ms around its loud part, and where in it the voice starts and stops (s)."""
    clip = corpus.synth(text, "en-us", speed, tmp_path / f"{abs(hash(text))}.wav", pad=(0, 0))
    x = corpus.read_wav(clip).astype(np.float64)
    loud = np.flatnonzero(np.abs(x) > 0.01 * 32768)
    a, b = max(0, loud[0] - RATE // 20), loud[-1] + RATE // 20
    return x[a:b], (loud[0] - a) / RATE, (loud[-1] - a) / RATE


def _noise(seconds, like, snr_db, tmp_path, seed=3):
    """Steady pink noise ``snr_db`` below the power of the speech ``like``."""
    n = corpus.pink_noise(seconds, seed, tmp_path).astype(np.float64)
    active = like[np.abs(like) > 0.01 * 32768]
    return n * np.sqrt(np.mean(active ** 2) / (np.mean(n ** 2) * 10 ** (snr_db / 10)))


def _segments(x, **kw):
    """Run the endpointer over samples ``x``: [(start s, last voiced s, ended at s)]."""
    pcm = np.clip(x, -32768, 32767).astype("<i2").tobytes()
    out, now, start = [], [0.0], []
    ep = Endpointer(on_start=lambda: start.append(now[0]),
                    on_end=lambda u: out.append((start[-1], u.end_t, now[0])), **kw)
    for i in range(0, len(pcm) - 2 * FRAME + 1, 2 * FRAME):
        now[0] = (i // 2 + FRAME) / RATE
        ep.process(Frame(pcm[i:i + 2 * FRAME], now[0]))
    ep.flush()
    return out


def test_steady_noise_right_after_speech_does_not_hold_the_utterance_open(tmp_path):
    speech, s0, s1 = _speech("help me", tmp_path)
    noise = _noise(7.0, speech, 6.0, tmp_path)  # a loud fan, 6 dB below the voice
    lead = np.zeros(RATE // 2)
    x = np.concatenate([lead, speech, noise, np.zeros(RATE)])
    end_of_speech = len(lead) / RATE + s1
    segs = _segments(x)
    assert segs, "no speech found"
    start, _, ended = segs[0]
    assert start == pytest.approx(len(lead) / RATE + s0, abs=0.2)
    # the noise became the floor: the utterance ended within the floor's window (1.5 s)
    # and the end-of-speech silence, not at max_s (8 s) as with a floor frozen in speech
    assert ended - end_of_speech < 2.2, segs
    # and the rest of the fan is background, not speech
    assert all(e - s < 2.5 for s, _, e in segs), segs


def test_noise_switched_on_in_silence_ends_and_a_command_in_it_is_found(tmp_path):
    speech, s0, s1 = _speech("help", tmp_path)
    noise = _noise(9.0, speech, 10.0, tmp_path)  # 10 dB below the voice
    on, said = 1.0, 6.0  # noise switched on at 1 s, "help" said at 6 s
    x = np.zeros(int(11 * RATE))
    x[int(on * RATE):int(on * RATE) + len(noise)] += noise
    x[int(said * RATE):int(said * RATE) + len(speech)] += speech
    segs = _segments(x)
    onset = [s for s in segs if s[0] < said - 1]
    # the switch-on is a short "utterance" (the recogniser rejects it), not 8 s of one
    assert onset and all(e - on < 2.2 for _, _, e in onset), segs
    word = [s for s in segs if s[0] >= said - 0.5]
    assert len(word) == 1, segs
    start, last_voiced, ended = word[0]
    assert start == pytest.approx(said + s0, abs=0.25), segs
    assert last_voiced == pytest.approx(said + s1, abs=0.25), segs
    assert ended - (said + s1) < 0.6, segs  # the end-of-speech silence, not the noise


@pytest.mark.parametrize("speed", [125, 160])
def test_a_sentence_said_in_noise_stays_one_utterance(tmp_path, speed):
    speech, s0, s1 = _speech("can you help me with the crossword later", tmp_path, speed)
    noise = _noise(len(speech) / RATE + 5.0, speech, 10.0, tmp_path, seed=5)
    said = 3.0  # the noise was already there: the floor has followed it
    x = np.zeros(len(noise) + RATE)
    x[:len(noise)] += noise
    x[int(said * RATE):int(said * RATE) + len(speech)] += speech
    segs = _segments(x)
    during = [s for s in segs if s[2] > said + s0 and s[0] < said + s1]
    assert len(during) == 1, segs


def _listen(x, end_ms=300, decode_ahead_ms=0):
    """Feed samples through a VoiceListener with pocketsphinx; outcomes and when each came."""
    from hub.voice.engines import PocketsphinxEngine
    from hub.voice.grammar import load_language
    from hub.voice.listener import VoiceListener

    lang = load_language("en")
    now = [0.0]
    got = []
    listener = VoiceListener(lang, PocketsphinxEngine(lang), None, end_ms=end_ms,
                             min_confidence=lang.min_confidence,
                             decode_ahead_ms=decode_ahead_ms,
                             clock=lambda: now[0], on_outcome=lambda o: got.append((o, now[0])))
    listener.open_window()
    listener.window_s = 3600
    pcm = np.clip(x, -32768, 32767).astype("<i2").tobytes()
    for i in range(0, len(pcm) - 2 * FRAME + 1, 2 * FRAME):
        now[0] = (i // 2 + FRAME) / RATE
        listener.feed_frame(Frame(pcm[i:i + 2 * FRAME], now[0]))
    listener.flush()
    return got


@pytest.mark.slow
def test_decoding_ahead_in_a_pause_gives_the_same_words_and_redoes_them_if_speech_goes_on(
        tmp_path):
    """The listener finishes decoding 150 ms into a pause (while the rest of end_ms is
    confirmed); when speech goes on after the pause the utterance is decoded again whole."""
    help_me, _, _ = _speech("help me", tmp_path)
    what, _, _ = _speech("what time", tmp_path)
    is_it, _, _ = _speech("is it", tmp_path)
    pause = np.zeros(int(0.21 * RATE))  # longer than the decode ahead, shorter than end_ms
    x = np.concatenate([np.zeros(RATE // 2), help_me, np.zeros(RATE),
                        what, pause, is_it, np.zeros(RATE)])
    ahead = _listen(x, decode_ahead_ms=150)
    after = _listen(x, decode_ahead_ms=0)
    assert [o.heard for o, _ in ahead] == ["help me", "what time is it"], ahead
    # the same words; the confidence may differ a little (150 ms less trailing silence)
    assert [o.heard for o, _ in ahead] == [o.heard for o, _ in after]
    assert ahead[0][0].command == after[0][0].command == "sos"
