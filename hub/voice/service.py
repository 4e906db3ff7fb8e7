"""Running the voice process: connect to the core, pick the engine, pump audio.

This module owns the voice process's life: a connection to the core that comes back
after the core restarts, the recogniser for the core's current language, and the loop
that hands audio frames to :class:`~hub.voice.listener.VoiceListener`. It is a client of
the core only: if it crashes or hangs, the core and the SOS button are unaffected.

It says ``hello`` as ``voice`` only once its recogniser is built (so a hub with no model
for its language never shows a Speak button that cannot work), and it reports its
listening window to the core (``voice.state``) from the audio loop, never from the
thread that reads the core's pushes (a request there would wait on itself).
"""

import dataclasses
import logging
import queue
import time
from pathlib import Path

from hub.api import ApiClient
from hub.config import Config
from hub.errors import ApiError, HubError
from hub.voice.audio import MicSource, StdinSource, WavSource
from hub.voice.engines import make_engine
from hub.voice.grammar import Language, load_language, normalise
from hub.voice.listener import VoiceListener

__all__ = ["language_for", "build_listener", "run_voice", "test_file", "check_models", "TOPICS"]

log = logging.getLogger(__name__)
TOPICS = ["sos", "prompt", "settings", "voice", "say", "speaker"]


def language_for(config: Config, code: str) -> Language:
    """The phrase set for ``code``, with the configured wake phrase if any."""
    lang = load_language(code)
    if config.voice.wake_phrase.strip():
        lang = dataclasses.replace(lang, wake=(normalise(config.voice.wake_phrase),))
    return lang


def build_listener(config: Config, code: str, request, **kw) -> VoiceListener:
    """A listener with the engine for ``code`` (raises HubError if no model)."""
    lang = language_for(config, code)
    engine = make_engine(lang, Path(config.voice.models_dir), config.voice.engine)
    v = config.voice
    return VoiceListener(lang, engine, request, window_s=v.window_s,
                         min_confidence=v.min_confidence or lang.min_confidence,
                         end_ms=v.end_ms,
                         vad_threshold_db=v.vad_threshold_db, **kw)


def _hello(client: ApiClient):
    """Tell the core this connection is the voice process (its Speak button may show)."""
    try:
        client.request("hello", client="voice")
    except ApiError:  # an older core without client roles
        client.request("hello")


def _report(listener: VoiceListener, client: ApiClient):
    """Say the Speak prompt if due, and tell the core when the window opened or closed."""
    state = listener.tick()
    if state is None:
        return
    try:
        client.request("voice.state", listening=state)
    except ApiError as exc:  # an older core, or it went away (reported again on reconnect)
        log.info("could not report the listening window: %s", exc)


def _connect(config: Config, on_push, stop_after: float | None = None,
             hello: bool = True) -> ApiClient:
    """Connect to the core, waiting for it to come up (backoff up to 5 s)."""
    delay, start = 0.2, time.monotonic()
    while True:
        try:
            client = ApiClient(config.socket_path, timeout=10, on_push=on_push).connect()
            if hello:
                _hello(client)
            return client
        except ApiError as exc:
            if stop_after is not None and time.monotonic() - start > stop_after:
                raise
            log.info("waiting for the hub core: %s", exc)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def run_voice(config: Config, *, input_path: str | None = None, language: str | None = None,
              realtime: bool = True, echo=print) -> int:
    """Run until the audio ends (file/stdin) or for ever (microphone).

    :param input_path: a WAV file, ``-`` for raw PCM on stdin, None for the microphone.
    :returns: the exit code.
    """
    if not config.voice.enabled:
        echo("voice is turned off ([voice] enabled = false); nothing to do")
        return 0
    listener_box: list[VoiceListener] = []
    pending: list[tuple[str, dict]] = []

    switch: list[str] = []  # a language chosen on the kiosk while running

    def on_push(topic, data):
        if topic == "settings" and data.get("language") and not language:
            switch.append(data["language"])
        if listener_box:
            listener_box[0].on_push(topic, data)
        else:
            pending.append((topic, data))

    client = _connect(config, on_push, stop_after=None if input_path is None else 30,
                      hello=False)
    settings = client.request("settings.get")
    code = language or settings.get("language") or config.hub.language

    def outcome(o):
        lat = f" {o.latency_s * 1000:.0f} ms" if o.latency_s is not None else ""
        echo(f"heard {o.heard!r} ({o.confidence:.2f}) → {o.command or '-'}: {o.action}{lat}")

    listener = build_listener(config, code, client.request, on_outcome=outcome)
    listener.speech_rate = int(settings.get("speech_rate") or config.audio.rate)
    listener_box.append(listener)
    client.subscribe(TOPICS)
    for topic, data in pending:
        listener.on_push(topic, data)
    _hello(client)  # the recogniser works: from now on the kiosk may offer Speak
    _report(listener, client)
    log.info("voice: listening in %s with %s", code, listener.engine.name)

    def reconnect() -> ApiClient:
        """The core went away: connect again and keep listening."""
        new = _connect(config, on_push)
        listener_box[0].request = new.request
        new.subscribe(TOPICS)
        listener_box[0].report_again()  # a new connection knows nothing of the window
        return new

    if input_path is None:
        source = MicSource(config.voice.device or None)
    elif input_path == "-":
        source = StdinSource()
    else:
        source = WavSource(Path(input_path), realtime=realtime)
    source.start()
    try:
        while True:
            try:
                frame = source.frames.get(timeout=0.25)
            except queue.Empty:
                if client.closed.is_set():
                    client = reconnect()
                _report(listener, client)
                continue
            if frame is None:
                listener.flush()
                break
            if switch and not listener.endpointer.in_speech:
                new_code = switch.pop()
                switch.clear()
                if new_code != listener.language.code:
                    try:
                        new = build_listener(config, new_code, client.request,
                                             on_outcome=outcome)
                    except HubError as exc:
                        log.error("voice stays in %s: %s", listener.language.code, exc)
                    else:
                        new.sos_state, new.prompt = listener.sos_state, listener.prompt
                        new.speech_rate = listener.speech_rate
                        listener = new
                        listener_box[0] = new
                        log.info("voice: now listening in %s", new_code)
            listener.feed_frame(frame)
            if client.closed.is_set():
                client = reconnect()
            _report(listener, client)
    except KeyboardInterrupt:
        pass
    finally:
        source.stop()
        client.close()
    return 0


def test_file(config: Config, path: str, language: str, echo=print) -> list:
    """``hub voice test``: what the hub hears in a WAV file and what it would do."""
    listener = build_listener(config, language, None)
    listener.open_window()  # as if the Speak button had been pressed
    listener.window_s = 3600
    source = WavSource(Path(path), realtime=False)
    source.start()
    while True:
        frame = source.frames.get()
        if frame is None:
            listener.flush()
            break
        listener.feed_frame(frame)
    if not listener.outcomes:
        echo("heard nothing (no speech found)")
    for o in listener.outcomes:
        echo(f"heard: {o.heard or '(nothing)'}  confidence {o.confidence:.2f}  → "
             f"{o.command or 'not a command'} ({o.action})")
    return listener.outcomes


def check_models(config: Config) -> list:
    """Rows for ``hub voice models``."""
    from hub.voice.engines import model_table
    from hub.voice.grammar import languages

    return model_table(Path(config.voice.models_dir),
                       [load_language(c) for c in languages()], config.voice.engine)

