"""Voice benchmarks: accuracy, false accepts, false SOS, latency, real-time factor, memory.

    .venv/bin/python benchmarks/bench_voice.py [--minutes 30] [--pairs 40] [--languages en ko]

* **Corpus** (tests/voice/corpus.py): every command and wake phrase × espeak-ng voices ×
  two speeds, clean and with pink noise at 10 dB SNR, plus ordinary sentences. The
  clips are split by a hash of (phrase, voice) into a tuning half and a held-out half;
  the confidence threshold is chosen on the tuning half (highest accuracy with no false
  SOS and ≤ 2 % false accepts) and the held-out figures are reported, as well as the
  figures at the configured default.
* **False SOS over non-command speech**: ordinary sentences in random voices, speeds and
  pauses, half of them radio-like (300–3400 Hz band, noise at 15 dB SNR), for
  ``--minutes`` of audio through the whole pipeline.
* **Latency**: a real core subprocess; "help" / "cancel" pairs paced in real time; from
  the end of speech (last voiced frame) to the core's answer to ``sos.press`` /
  ``sos.cancel``.
* **RSS** of a process holding each language's recogniser.
"""

import argparse
import hashlib
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hub.config import VoiceSection  # noqa: E402
from hub.errors import HubError  # noqa: E402
from hub.voice.engines import make_engine  # noqa: E402
from hub.voice.grammar import load_language  # noqa: E402
from hub.voice.listener import VoiceListener  # noqa: E402
from tests.voice import corpus  # noqa: E402

DEFAULT = VoiceSection()
DECODE_AHEAD_MS = 0  # --decode-ahead-ms


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))]


def listener_for(code, min_confidence=None):
    lang = load_language(code)
    if min_confidence is None:
        min_confidence = lang.min_confidence
    engine = make_engine(lang, Path(DEFAULT.models_dir))
    return VoiceListener(lang, engine, None, min_confidence=min_confidence,
                         end_ms=DEFAULT.end_ms, vad_threshold_db=DEFAULT.vad_threshold_db,
                         decode_ahead_ms=DECODE_AHEAD_MS)


def held_out(clip) -> bool:
    return int(hashlib.sha1(f"{clip.text}|{clip.voice}".encode()).hexdigest(), 16) % 2 == 1


def accuracy_section(code, workdir):
    try:
        listener = listener_for(code, 0.0)  # keep every decode; thresholds applied below
    except HubError as exc:
        print(f"{code}: skipped ({exc})")
        return None
    t0 = time.perf_counter()
    clips = corpus.build(code, workdir / code)
    t1 = time.perf_counter()
    results = [corpus.run_clip(listener, c) for c in clips]
    t2 = time.perf_counter()
    audio_s = sum(len(corpus.read_wav(c.path)) for c in clips) / corpus.RATE
    lang = load_language(code)
    tune = [r for r in results if not held_out(r.clip)]
    test = [r for r in results if held_out(r.clip)]
    best = None
    for th in np.arange(0.0, 1.0001, 0.05):
        s = corpus.summary(corpus.rescore(tune, lang, th))
        ok = s["false_sos"] == 0 and (s["clean_false_accept"] or 0) <= 0.02 and \
            (s["noisy_false_accept"] or 0) <= 0.02
        score = (s["clean_accuracy"] or 0) + (s["noisy_accuracy"] or 0)
        if ok and (best is None or score > best[1]):
            best = (round(float(th), 2), score)
    th = best[0] if best else None
    print(f"\n## {code} ({listener.engine.name}): {len(clips)} clips, {audio_s / 60:.1f} min of "
          f"audio; synthesis {t1 - t0:.0f} s, recognition {t2 - t1:.0f} s")
    if th is None:
        print("no threshold on the tuning half meets: no false SOS and ≤ 2 % false accepts "
              "both clean and noisy; held-out figures below use the shipped threshold")
        th = lang.min_confidence
    else:
        print(f"threshold tuned on the tuning half: {th} (shipped: {lang.min_confidence})")
    rows = [(f"held-out half, threshold {th}", corpus.rescore(test, lang, th)),
            (f"all, shipped threshold {lang.min_confidence}",
             corpus.rescore(results, lang, lang.min_confidence))]
    for name, rs in rows:
        s = corpus.summary(rs)
        print(f"{name}: clean accuracy {s['clean_accuracy']:.1%} of {s['clean_commands']}, "
              f"noisy (10 dB) {s['noisy_accuracy']:.1%} of {s['noisy_commands']}, "
              f"false accepts clean {s['clean_false_accept']:.1%} / noisy "
              f"{s['noisy_false_accept']:.1%} of {s['clean_sentences']} sentences each, "
              f"false SOS {s['false_sos']}")
        for r in rs:
            if r.false_sos:
                print(f"   false SOS: {r.clip.text!r} ({r.clip.voice}, {r.clip.speed} wpm, "
                      f"{'noisy' if r.clip.noisy else 'clean'}) heard {r.heard}")
    return th


def make_conversation(code, minutes, workdir, seed=7):
    """Ordinary sentences, random voices/speeds/pauses, half radio-like, ``minutes`` long."""
    rnd = random.Random(seed)
    out, total = [], 0
    want = int(minutes * 60 * corpus.RATE)
    n = 0
    while total < want:
        text = rnd.choice(corpus.SENTENCES[code])
        voice = rnd.choice(corpus.VOICES[code])
        speed = rnd.choice([110, 130, 150, 170, 190])
        clip = workdir / f"conv-{code}-{hashlib.sha1(f'{text}{voice}{speed}'.encode()).hexdigest()[:10]}.wav"
        if not clip.exists():
            corpus.synth(text, voice, speed, clip, pad=(0.0, 0.0))
        x = corpus.read_wav(clip).astype(np.float64)
        if n % 2:  # radio-like: telephone band and noise
            radio = clip.with_suffix(".radio.wav")
            if not radio.exists():
                subprocess.run(["sox", str(clip), str(radio), "sinc", "300-3400"], check=True,
                               capture_output=True)
                corpus.add_noise(radio, radio.with_suffix(".n.wav"), 15.0, seed=n)
            x = corpus.read_wav(radio.with_suffix(".n.wav")).astype(np.float64)
        gap = np.zeros(int(rnd.uniform(0.2, 1.5) * corpus.RATE))
        out += [x, gap]
        total += len(x) + len(gap)
        n += 1
    pcm = np.clip(np.concatenate(out), -32768, 32767).astype("<i2")
    path = workdir / f"conversation-{code}.wav"
    corpus.write_wav(path, pcm)
    return path, len(pcm) / corpus.RATE, n


def soak(code, minutes, workdir):
    from hub.voice.audio import WavSource

    try:
        listener = listener_for(code)
    except HubError as exc:
        print(f"{code}: skipped ({exc})")
        return
    path, seconds, n = make_conversation(code, minutes, workdir)
    busy = [0.0]
    finish = listener.engine.finish

    def timed_finish():
        h = finish()
        busy[0] += h.decode_s
        return h

    listener.engine.finish = timed_finish
    source = WavSource(path, tail_s=0.5)
    t0 = time.perf_counter()
    source._run()
    while (frame := source.frames.get_nowait()) is not None:
        listener.feed_frame(frame)
    listener.flush()
    wall = time.perf_counter() - t0
    sos = [o for o in listener.outcomes if o.command == "sos"]
    any_cmd = [o for o in listener.outcomes if o.command]
    print(f"\n## {code}: non-command speech soak")
    print(f"{seconds / 60:.1f} min of audio, {n} sentences ({len(listener.outcomes)} "
          f"utterances found): false SOS {len(sos)}, any command {len(any_cmd)} "
          f"({len(any_cmd) / max(1, len(listener.outcomes)):.2%} of utterances); "
          f"recogniser real-time factor {busy[0] / seconds:.3f}; pipeline wall "
          f"{wall:.0f} s")
    for o in any_cmd[:10]:
        print(f"   heard {o.heard!r} → {o.command} ({o.confidence:.2f})")


def speech_end(samples: np.ndarray) -> float:
    """Seconds into ``samples`` of the last sample louder than -40 dBFS (the voice stops)."""
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > 0.01 * 32768)
    return (loud[-1] + 1) / corpus.RATE if len(loud) else 0.0


# The espeak-ng voice of the latency clips, per language (default: the corpus's first).
# Korean: "살려 주세요" and "취소" in the default voice "ko" are not recognised (0 of 80
# latency commands), in "ko+f3" both are (confidence 1.0 on the corpus, both speeds).
LATENCY_VOICE = {"ko": "ko+f3"}


def latency(pairs, workdir, code="en"):
    """End of speech → the core's answer to sos.press / sos.cancel, and where it goes.

    Two clocks for "end of speech": the endpointer's last voiced frame (what the
    listener sees), and the true end of the voice in the WAV (last sample above
    -40 dBFS), which does not depend on the endpointer's own thresholds.
    """
    from hub.api import ApiClient
    from hub.voice.audio import WavSource

    state = workdir / f"state-{code}"
    state.mkdir(exist_ok=True)
    cfg = workdir / f"hub-{code}.toml"
    cfg.write_text(f'[hub]\nstate_dir = "{state}"\n[audio]\nspeech_engine = "silent"\n'
                   "[sos]\ncountdown = 30\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    core = subprocess.Popen([sys.executable, "-m", "hub", "--config", str(cfg), "core"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                client = ApiClient(state / "hub.sock", timeout=10).connect()
                break
            except Exception:
                time.sleep(0.05)
        client.request("hello", client="voice")
        try:
            listener = listener_for(code)
        except HubError as exc:
            print(f"{code}: latency skipped ({exc})")
            return
        lang = load_language(code)
        words = {"sos": lang.commands["sos"][0], "cancel": lang.commands["cancel"][0]}
        voice = LATENCY_VOICE.get(code, corpus.VOICES[code][0])
        print(f"\n{code} latency clips: {words['sos']!r} / {words['cancel']!r}, espeak-ng "
              f"voice {voice}, 150 wpm")
        clips = {k: corpus.read_wav(corpus.synth(t, voice, 150, workdir / f"lat-{code}-{k}.wav",
                                                 (0.1, 0.0))) for k, t in words.items()}
        gap = np.zeros(int(1.2 * corpus.RATE), dtype="<i2")
        parts, ends, at = [], [], 0
        for _ in range(pairs):
            for k in ("sos", "cancel"):
                ends.append(at / corpus.RATE + speech_end(clips[k]))
                parts += [clips[k], gap]
                at += len(clips[k]) + len(gap)
        wav = workdir / "latency.wav"
        corpus.write_wav(wav, np.concatenate(parts))
        timing = {"detect": [], "decode": [], "request": []}
        on_end, finish, request = listener.endpointer.on_end, listener.engine.finish, \
            client.request

        def timed_on_end(utt):
            timing["detect"].append(time.monotonic() - utt.end_t)
            on_end(utt)

        def timed_finish():
            t = time.monotonic()
            h = finish()
            timing["decode"].append(time.monotonic() - t)
            return h

        def timed_request(cmd, **kw):
            t = time.monotonic()
            try:
                return request(cmd, **kw)
            finally:
                timing["request"].append(time.monotonic() - t)

        listener.endpointer.on_end, listener.engine.finish = timed_on_end, timed_finish
        listener.request = timed_request
        listener.sos_state = "idle"
        client.on_push = listener.on_push
        client.subscribe(["sos", "prompt", "voice"])
        source = WavSource(wav, realtime=True)
        load = os.getloadavg()
        source.start()
        while (frame := source.frames.get()) is not None:
            listener.feed_frame(frame)
        listener.flush()
        load = max(load[0], os.getloadavg()[0])
        done = [o for o in listener.outcomes if o.latency_s is not None]
        lats = [o.latency_s * 1000 for o in done]
        true = []
        for o in done:  # the latest true end of a clip before the answer came
            before = [source.started_at + e for e in ends if source.started_at + e < o.delivered_t]
            if before:
                true.append((o.delivered_t - before[-1]) * 1000)
        acts = [o.action for o in listener.outcomes]
        print(f"\n## {code}: end of speech → intent delivered to the core (real core, "
              f"real-time audio, end_ms {DEFAULT.end_ms}, decode ahead {DECODE_AHEAD_MS} ms), "
              f"{len(lats)} of {2 * pairs} "
              f"commands ({acts.count('sos.press')} sos.press, {acts.count('sos.cancel')} "
              f"sos.cancel), 1-min load average up to {load:.1f}")
        if lats:
            print(f"from the last voiced frame: median {statistics.median(lats):.0f} ms, p99 "
                  f"{pct(lats, 99):.0f} ms, max {max(lats):.0f} ms")
            print(f"from the true end of the voice in the WAV: median "
                  f"{statistics.median(true):.0f} ms, p99 {pct(true, 99):.0f} ms, max "
                  f"{max(true):.0f} ms")
            print("where it goes (median / p99 ms): " + ", ".join(
                f"{k} {statistics.median(v) * 1000:.0f} / {pct(v, 99) * 1000:.0f}"
                for k, v in timing.items() if v) +
                "  (detect = last voiced frame → end of utterance found)")
    finally:
        core.terminate()
        core.wait(30)


RSS_SCRIPT = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from hub.config import VoiceSection
from hub.voice.engines import make_engine
from hub.voice.grammar import load_language
lang = load_language(sys.argv[1])
e = make_engine(lang, Path(VoiceSection().models_dir))
e.recognise(bytes(32000))
status = {l.split(':')[0]: int(l.split()[1]) for l in open('/proc/self/status')
          if l.startswith(('VmRSS', 'VmHWM'))}
print(e.name, status['VmRSS'] // 1024, status['VmHWM'] // 1024)
"""


def rss(codes):
    print("\n## RSS of a process holding the recogniser (after one decode)")
    for code in codes:
        run = subprocess.run([sys.executable, "-c", RSS_SCRIPT, code, str(ROOT)],
                             capture_output=True, text=True)
        if run.returncode:
            print(f"{code}: not available ({run.stderr.strip().splitlines()[-1]})")
            continue
        name, now, peak = run.stdout.split()
        print(f"{code} ({name}): RSS {now} MiB, peak {peak} MiB")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--pairs", type=int, default=40)
    ap.add_argument("--languages", nargs="+", default=["en", "ko", "zh_CN"])
    ap.add_argument("--latency-languages", nargs="+", default=["en"])
    ap.add_argument("--decode-ahead-ms", type=int, default=0,
                    help="VoiceListener decode_ahead_ms (0 = decode when the utterance ends)")
    ap.add_argument("--skip", nargs="*", default=[],
                    choices=["accuracy", "soak", "latency", "rss"])
    args = ap.parse_args()
    global DECODE_AHEAD_MS
    DECODE_AHEAD_MS = args.decode_ahead_ms
    print(f"# voice benchmark: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if "accuracy" not in args.skip:
            for code in args.languages:
                accuracy_section(code, work)
        if "soak" not in args.skip:
            for code in args.languages:
                soak(code, args.minutes, work)
        if "latency" not in args.skip:
            for code in args.latency_languages:
                latency(args.pairs, work, code)
        if "rss" not in args.skip:
            rss(args.languages)


if __name__ == "__main__":
    main()
