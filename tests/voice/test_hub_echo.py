"""The hub hears its own voice: nothing it says may act as a command.

Measured before this rule, with the real recognisers: the hub's own "Yes? I am
listening." answered an open check-in "yes" (0.95), and its "Cancelled. No alarm was
sent." was heard as "cancel" (0.83). Now an utterance that began while the hub spoke
counts only if it is an emergency phrase the hub is not saying itself.

The timing tests give the recogniser's answer as a scripted hypothesis but run the real
path: audio frames → endpointer → utterance → decision, with the core's ``say`` pushes
over a real socket. The last tests speak every sentence the hub can say with espeak-ng
into the real recognisers (pocketsphinx for English, vosk for Korean).
"""

import time

import pytest

from hub.phrases import PHRASES
from hub.voice.grammar import load_language
from hub.voice.listener import ECHO_TAIL_S, VoiceListener
from tests.voice.scripted import ScriptedEngine, speak_into, wait

pytestmark = pytest.mark.slow


def _voice(core):
    """A listener with a scripted engine, connected to the core as the voice process."""
    engine = ScriptedEngine()
    listener = VoiceListener(load_language("en"), engine, None)
    client = core.client()
    client.request("hello", client="voice")
    client.on_push = listener.on_push
    client.subscribe(["sos", "prompt", "say", "speaker", "settings"])
    listener.request = client.request
    speak_into(listener, 0.0)  # the room's quiet first: the endpointer's noise floor
    return engine, listener


def test_cancel_heard_while_the_hub_speaks_does_not_end_the_countdown(core_factory):
    """Silent speech engine: no 'speaker' push, so the hub is taken to speak for the text's
    estimated length; 'cancel' heard then is ignored, heard after it counts."""
    core = core_factory(sos={"countdown": 60}).start()
    engine, listener = _voice(core)
    kiosk = core.client()
    kiosk.request("sos.press", source="voice")  # the core says "… Say cancel to stop."
    assert wait(lambda: listener.sos_state == "countdown")
    assert wait(lambda: listener._deaf_until > time.monotonic())

    engine.script.append("cancel")
    speak_into(listener, 0.5)
    assert listener.outcomes[-1].action == "echo"
    assert kiosk.request("sos.state")["state"] == "countdown"

    assert wait(lambda: time.monotonic() > listener._deaf_until, timeout=15)
    engine.script.append("cancel")
    speak_into(listener, 0.5)
    assert listener.outcomes[-1].action == "sos.cancel"
    assert kiosk.request("sos.state")["state"] == "idle"


def test_an_elder_calling_for_help_over_the_hub_is_heard(core_factory):
    core = core_factory(sos={"countdown": 60}).start()
    engine, listener = _voice(core)
    core.client().request("say", text="Time for your heart pill: one tablet.")
    assert wait(lambda: listener._deaf_until > time.monotonic())
    engine.script.append("help")
    speak_into(listener, 0.5)
    assert listener.outcomes[-1].action == "sos.press"


def test_help_in_what_the_hub_reads_out_raises_no_alarm(core_factory):
    core = core_factory(sos={"countdown": 60}).start()
    engine, listener = _voice(core)
    kiosk = core.client()
    kiosk.request("say", text="Message from Anna: Help me move the sofa on Sunday!")
    assert wait(lambda: listener._deaf_until > time.monotonic())
    engine.script.append("help me")
    speak_into(listener, 0.5)
    assert listener.outcomes[-1].action == "echo"
    assert kiosk.request("sos.state")["state"] == "idle"


def test_the_speakers_real_end_replaces_the_estimate(core_factory):
    """A speech engine that plays (pyttsx3; on a machine without a sound card it ends at
    once): the core pushes 'speaker' {speaking: false}, and an answer right after the hub stops counts."""
    pytest.importorskip("pyttsx3")
    core = core_factory(audio={"speech_engine": "pyttsx3"}).start()
    engine = ScriptedEngine()
    listener = VoiceListener(load_language("en"), engine, None)
    speak_into(listener, 0.0)
    done = []
    client = core.client()
    client.request("hello", client="voice")

    def on_push(topic, data):
        listener.on_push(topic, data)
        if topic == "speaker" and data.get("speaking") is False:
            done.append(time.monotonic())

    client.on_push = on_push
    client.subscribe(["say", "speaker", "prompt"])
    listener.request = client.request
    long_text = " ".join(["Good morning, this is a long sentence the hub reads out."] * 3)
    core.client().request("say", text=long_text)
    assert wait(lambda: done), "no 'speaker' push after the speaker went quiet"
    # the estimate alone would keep the hub 'speaking' for over 8 s
    assert listener._deaf_until <= done[-1] + ECHO_TAIL_S + 0.05
    assert wait(lambda: time.monotonic() > listener._deaf_until, timeout=2)
    engine.script.append("hello hub")
    speak_into(listener, 0.5)
    assert listener.outcomes[-1].action == "listening"


# -- every sentence the hub says, through the real recognisers ------------------------

PARAMS = dict(seconds=10, responder="Anna", label="heart pill", dose="one tablet",
              count=2, time="10:30", day=5, month=12, contact="Your daughter",
              systolic=128, diastolic=82, sender="Anna", text="See you on Sunday", n=2,
              date="5/12", when="today at 10:30")


def _hub_sentences(code):
    lang = load_language(code)
    out = [t.format_map(PARAMS) for by_lang in PHRASES.values() if (t := by_lang.get(code))]
    out += [t.format_map(PARAMS) for t in lang.replies.values()]
    return out


@pytest.mark.parametrize("code", ["en", "ko"])
def test_nothing_the_hub_says_acts_as_a_command(code, tmp_path):
    """Worst moment: an alarm counting down and a check-in question open.

    Each sentence is heard first as if the 'say' push were lost (nothing may raise an
    alarm), then, where that acted at all, as the core really warns (nothing may act).
    The recognisers are deterministic, so a sentence that did not act unwarned cannot
    act warned.
    """
    from tests.voice import corpus
    from tests.voice.test_corpus import _listener as listener_or_skip

    listener = listener_or_skip(code)
    voice = corpus.VOICES[code][0]

    def hear(text, clip, warned):
        listener.on_push("sos", {"state": "countdown"})
        listener.on_push("prompt", {"open": True, "id": "p1", "answers": ["yes", "no"]})
        listener._deaf_until = 0.0
        if warned:  # as the core pushes it when its speaker starts
            listener.on_push("say", {"text": text})
        result = corpus.run_clip(listener, corpus.Clip(code, text, None, voice, 150, clip,
                                                       False))
        return result, [o.action for o in listener.outcomes]

    acted_unwarned, acted, sos = [], [], []
    for i, text in enumerate(_hub_sentences(code)):
        clip = corpus.synth(text, voice, 150, tmp_path / f"{code}-{i}.wav")
        result, actions = hear(text, clip, warned=False)
        if "sos" in result.commands:
            sos.append((text, result.heard))
        if any(a not in ("ignored", "rejected", "needs_wake", "unsure") for a in actions):
            acted_unwarned.append(text)
            result, actions = hear(text, clip, warned=True)
            if any(a not in ("echo", "ignored") for a in actions):
                acted.append((text, result.heard, actions))
    # Even if the 'say' push were lost, nothing the hub says raises an alarm.
    assert not sos, f"the hub's own words heard as an SOS: {sos}"
    assert not acted, f"the hub's own words acted on: {acted}"
    print(f"{code}: acted on without the warning: {acted_unwarned}")
