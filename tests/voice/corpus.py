"""The synthetic speech corpus for the voice tests and benchmarks/bench_voice.py.

Made at test time: every command and wake phrase of a language spoken by espeak-ng
with several voices and speeds, plus ordinary sentences (many of them near misses such
as "help yourself to some cake"), each clean and with pink noise at a given SNR
(noise made by sox, mixed at the exact power ratio). Nothing is kept in the repo.
"""

import hashlib
import random
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hub.voice.grammar import load_language

RATE = 16000

# voice variants and speeds (words per minute) per language
VOICES = {
    "en": ["en-us", "en-gb", "en-us+f3", "en-gb-x-rp+m3"],
    "ko": ["ko", "ko+f3", "ko+m3"],
    "zh_CN": ["cmn", "cmn+f3", "cmn+m3"],
}
SPEEDS = [125, 160]

# Ordinary speech: never a command. Near misses share words with the commands.
SENTENCES = {
    "en": [
        "help yourself to some cake", "i helped my neighbour with her shopping",
        "can you help me with the crossword later", "the emergency exit is on the left",
        "there was no emergency today", "call me when you get home",
        "my family is coming on sunday", "what time does the bus leave",
        "read me a story before bed", "cancel my newspaper for next week",
        "i am going for a walk in the garden", "the weather is very nice this morning",
        "did you see the news on television", "my doctor said my heart is fine",
        "please put the kettle on", "we had fish and potatoes for dinner",
        "the cat is sleeping on the chair", "my son works in the city",
        "it is raining again", "the radio is too loud in the kitchen",
        "i want to buy some bread and milk", "she told me a funny story yesterday",
        "the garden needs water", "thank you for the flowers",
        "where did i put my glasses", "the film starts at eight",
        "my knee hurts when it is cold", "let us have a cup of tea",
        "he is playing football with his friends", "the shop closes early on monday",
        "stop the car at the corner", "yes and no are both good answers",
        "i am okay with that plan", "the blood test was on tuesday",
        "speak to the nurse about it", "louder music is not for me",
        "my last letter came from canada", "we will call the plumber tomorrow",
        "the children are playing outside", "it is time for my medicine",
    ],
    "ko": [
        "오늘 날씨가 정말 좋네요", "어제 친구를 만났어요", "시장에 가서 사과를 샀어요",
        "아들이 주말에 온대요", "텔레비전 뉴스를 봤어요", "점심으로 국수를 먹었어요",
        "병원에 다녀왔어요", "손자가 학교에 갔어요", "공원에서 산책을 했어요",
        "커피 한 잔 주세요", "버스가 늦게 왔어요", "노래를 부르고 싶어요",
        "책을 읽고 있어요", "내일 비가 온대요", "고양이가 자고 있어요",
        "가족이 보고 싶어요", "전화가 안 돼요", "소리가 너무 커요",
        "혈압약을 먹었어요", "시간이 빨리 가네요", "응급실은 저쪽이에요",
        "도움이 많이 됐어요", "괜찮은 영화였어요", "메시지를 보냈어요",
        "그만 먹을래요", "취소된 기차가 있어요", "저녁에 뭐 먹을까요",
        "딸이 과일을 사 왔어요", "라디오를 켜 주세요", "창문을 닫아 주세요",
    ],
    "zh_CN": [
        "今天天气很好", "我昨天见了朋友", "我去市场买了苹果", "儿子周末回来",
        "我看了电视新闻", "中午吃了面条", "我去了医院", "孙子去学校了",
        "我在公园散步", "请给我一杯茶", "公共汽车来晚了", "我想唱歌",
        "我在看书", "明天要下雨", "猫在睡觉", "我想念家人",
        "电话打不通", "声音太大了", "我吃了降压药", "时间过得真快",
        "急诊室在那边", "帮了我很大的忙", "这部电影不错", "我发了消息",
        "我不想吃了", "火车取消了", "晚上吃什么", "女儿买了水果",
        "请打开收音机", "请关上窗户",
    ],
}


@dataclass(frozen=True)
class Clip:
    """One utterance of the corpus."""

    language: str
    text: str
    label: str | None  # command name, "wake", or None for ordinary speech
    voice: str
    speed: int
    path: Path
    noisy: bool


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        assert w.getframerate() == RATE and w.getnchannels() == 1 and w.getsampwidth() == 2
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")


def write_wav(path: Path, samples: np.ndarray):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(np.asarray(samples, dtype="<i2").tobytes())


def synth(text: str, voice: str, speed: int, out: Path, pad=(0.3, 0.7)) -> Path:
    """Speak ``text`` with espeak-ng into a 16 kHz mono WAV with silence around it."""
    raw = out.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text],
                   check=True, capture_output=True)
    subprocess.run(["sox", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(out),
                    "pad", str(pad[0]), str(pad[1])], check=True, capture_output=True)
    raw.unlink()
    return out


def pink_noise(seconds: float, seed: int, workdir: Path) -> np.ndarray:
    """``seconds`` of pink noise: a slice of a 60-second noise file made once by sox."""
    path = workdir / "noise-pink-60s.wav"
    if not path.exists():
        subprocess.run(["sox", "-R", "-n", "-r", str(RATE), "-c", "1", "-b", "16", str(path),
                        "synth", "60", "pinknoise", "vol", "0.3"],
                       check=True, capture_output=True)
    noise = read_wav(path)
    n = int(seconds * RATE)
    start = random.Random(seed).randrange(0, max(1, len(noise) - n))
    return noise[start:start + n]


def add_noise(clean: Path, out: Path, snr_db: float, seed: int) -> Path:
    """Mix pink noise into ``clean`` so that speech power / noise power = ``snr_db``.

    Speech power is measured over the samples above −40 dBFS (the words, not the pads).
    """
    speech = read_wav(clean).astype(np.float64)
    noise = pink_noise(len(speech) / RATE + 0.01, seed, out.parent)[:len(speech)]
    noise = noise.astype(np.float64)
    active = speech[np.abs(speech) > 32768 * 0.01]
    p_speech = np.mean(active ** 2) if len(active) else np.mean(speech ** 2)
    p_noise = np.mean(noise ** 2) or 1.0
    noise *= np.sqrt(p_speech / (p_noise * 10 ** (snr_db / 10)))
    write_wav(out, np.clip(speech + noise, -32768, 32767))
    return out


def _name(*parts) -> str:
    return hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()[:12]


def build(language: str, workdir: Path, *, voices=None, speeds=None, snr_db=10.0,
          sentences=True, fraction=1.0, seed=1) -> list[Clip]:
    """Make the corpus for ``language`` in ``workdir``; clean and noisy copies.

    :param fraction: keep this share of the (phrase, voice, speed) items, chosen with a
        fixed seed, so CI can run a representative subset.
    """
    lang = load_language(language)
    workdir.mkdir(parents=True, exist_ok=True)
    items = [(p, name) for name, ps in lang.commands.items() for p in ps]
    items += [(w, "wake") for w in lang.wake]
    if sentences:
        items += [(s, None) for s in SENTENCES[language]]
    combos = [(t, label, v, s) for t, label in items
              for v in (voices or VOICES[language]) for s in (speeds or SPEEDS)]
    rnd = random.Random(seed)
    if fraction < 1.0:
        # keep every phrase at least once, then a random share of the rest
        first = {}
        for c in combos:
            first.setdefault(c[0], c)
        rest = [c for c in combos if first[c[0]] is not c]
        combos = list(first.values()) + rnd.sample(rest, int(len(rest) * fraction))
    clips = []
    for i, (text, label, voice, speed) in enumerate(combos):
        clean = workdir / f"{_name(language, text, voice, speed)}.wav"
        if not clean.exists():
            synth(text, voice, speed, clean)
        clips.append(Clip(language, text, label, voice, speed, clean, False))
        if snr_db is not None:
            noisy = workdir / f"{_name(language, text, voice, speed, snr_db)}-n.wav"
            if not noisy.exists():
                add_noise(clean, noisy, snr_db, seed=i)
            clips.append(Clip(language, text, label, voice, speed, noisy, True))
    return clips


@dataclass
class Result:
    """How one clip went through the real pipeline (endpointer → recogniser → grammar)."""

    clip: Clip
    heard: list[str]
    confidences: list[float]
    commands: list[str]  # what it was taken as ("wake" for the wake phrase alone)

    @property
    def correct(self) -> bool:
        return self.clip.label is not None and self.commands == [self.clip.label]

    @property
    def false_accept(self) -> bool:
        return self.clip.label is None and bool(self.commands)

    @property
    def false_sos(self) -> bool:
        return self.clip.label != "sos" and "sos" in self.commands


def run_clip(listener, clip: Clip, min_confidence: float | None = None) -> Result:
    """Feed one clip through a :class:`~hub.voice.listener.VoiceListener` (no core)."""
    from hub.voice.audio import WavSource

    if min_confidence is not None:
        listener.min_confidence = min_confidence
    listener.outcomes.clear()
    # As after the Speak button: the commands other than the emergency phrases are said
    # to an open window (the emergency phrases do not depend on it); the engine's second
    # opinion (Korean) only runs in a window. The window outlasts any decode, so that a
    # loaded machine cannot close it between two utterances of one clip.
    listener.window_s = 3600.0
    listener.on_push("voice", {"listen": True})
    source = WavSource(clip.path, tail_s=0.5)
    source._run()  # in this thread: the frames are all queued, then None
    while True:
        frame = source.frames.get_nowait()
        if frame is None:
            break
        listener.feed_frame(frame)
    listener.flush()
    cmds = []
    for o in listener.outcomes:
        if o.command:
            cmds.append(o.command)
        elif o.action == "listening":
            cmds.append("wake")
    return Result(clip, [o.heard for o in listener.outcomes],
                  [o.confidence for o in listener.outcomes], cmds)


def summary(results: list[Result]) -> dict:
    """Accuracy (clean/noisy), false accepts and false SOS over results."""
    out = {}
    for noisy in (False, True):
        key = "noisy" if noisy else "clean"
        cmd = [r for r in results if r.clip.label and r.clip.noisy == noisy]
        other = [r for r in results if not r.clip.label and r.clip.noisy == noisy]
        out[f"{key}_accuracy"] = sum(r.correct for r in cmd) / len(cmd) if cmd else None
        out[f"{key}_commands"] = len(cmd)
        out[f"{key}_false_accept"] = (sum(r.false_accept for r in other) / len(other)
                                      if other else None)
        out[f"{key}_sentences"] = len(other)
    out["false_sos"] = sum(r.false_sos for r in results)
    out["clips"] = len(results)
    return out


def rescore(results: list[Result], language, threshold: float) -> list[Result]:
    """The same decodes judged with another confidence threshold (for tuning)."""
    out = []
    for r in results:
        cmds = []
        for text, conf in zip(r.heard, r.confidences):
            m = language.match(text)
            if conf < (max(threshold, language.sos_min_confidence) if m.command == "sos"
                       else threshold):
                continue
            if m.command:
                cmds.append(m.command)
            elif m.woke:
                cmds.append("wake")
        out.append(Result(r.clip, r.heard, r.confidences, cmds))
    return out
