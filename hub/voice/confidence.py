"""Rejection score for a grammar-constrained pocketsphinx decode (English).

A grammar always answers with *some* phrase, so the decode must be judged. The score
combines two kinds of evidence, each computed per utterance:

* **coverage** (:func:`hub.voice.engines.coverage`): the share of the loud 10 ms frames
  that the phrase explains with words rather than silence, and **plausibility**: 1 unless
  a word is stretched over more than 25 frames per phone (noise read as a long "help");
* **likelihood ratio against a phone loop** (the classic "garbage model" test): the
  same audio is also decoded by pocketsphinx's allphone search without a phone
  language model, which may say any sequence of phones. A command said alone scores nearly as well under the grammar as
  under the free phone loop; an ordinary sentence forced into a command phrase scores
  much worse. Three normalisations are used: per frame of the utterance, per frame of
  the phrase's words, and the weakest word's own ratio over its frames.

A logistic model over those features, and the speaking rate (frames per phone), gives a
0–1 confidence. Its weights were fitted on the tuning half of the synthetic corpus
(``benchmarks/bench_voice.py``'s split; tests/voice/corpus.py) and the threshold in
``assets/voice/en.toml`` chosen there; the held-out half's figures are in BENCHMARKS.md.
"""

import math
from dataclasses import dataclass

__all__ = ["Decode", "features", "confidence", "FEATURES"]

# Words that are not speech in a segmentation (pocketsphinx fillers, allphone's silence).
SILENCE = ("<s>", "</s>", "<sil>", "[NOISE]", "++NOISE++", "(NULL)", "SIL", "+SPN+",
           "+NSN+", "")

FEATURES = ("coverage", "plausibility", "ratio per frame", "weakest word ratio",
            "ratio per word frame", "frames per phone / 10")
# Fitted on the tuning half (espeak-ng, 4 voices × 2 speeds, clean and 10 dB SNR):
# standardisation, then weights and bias of the logistic model.
_MEAN = (0.6442, 0.9719, -2.025, -3.7696, -9.1915, 1.1081)
_STD = (0.3013, 0.0959, 1.2974, 1.9116, 10.9644, 0.3934)
_WEIGHTS = (2.51, 0.7926, -0.1209, 1.013, 0.7004, -0.4543)
_BIAS = -1.8784


@dataclass(frozen=True)
class Decode:
    """One search's result over an utterance, as pocketsphinx gives it.

    :ivar score: the path's score from ``Decoder.hyp().score`` (a probability-like
        number in (0, 1]; only its logarithm is used).
    :ivar segments: ``(word, first frame, last frame, acoustic score)`` from ``seg()``.
    """

    score: float
    segments: tuple[tuple[str, int, int, float], ...]


def _log(x: float) -> float:
    return math.log(max(x, 1e-300))


def _word(name: str) -> str:
    return name.split("(")[0]


def _phone_loop_over(phones: Decode, first: int, last: int) -> float:
    """The phone loop's log acoustic score over frames first..last (pro rata)."""
    total = 0.0
    for _, start, end, ascore in phones.segments:
        overlap = min(end, last) - max(start, first) + 1
        if overlap > 0:
            total += _log(ascore) * overlap / (end - start + 1)
    return total


def features(grammar: Decode, phones: Decode, frames: int, coverage: float,
             plausibility: float, phone_count: int) -> tuple[float, ...]:
    """The feature vector (see :data:`FEATURES`) for one utterance.

    :param frames: 10 ms frames decoded; :param phone_count: phones in the phrase.
    """
    ratio = _log(grammar.score) - _log(phones.score)
    words = [s for s in grammar.segments if _word(s[0]) not in SILENCE]
    speech = sum(end - start + 1 for _, start, end, _ in words)
    per_word = [(_log(a) - _phone_loop_over(phones, start, end)) / (end - start + 1)
                for _, start, end, a in words]
    return (coverage, plausibility, ratio / max(1, frames) * 1000,
            (min(per_word) if per_word else -1e9) * 1000,
            ratio / max(1, speech) * 1000, speech / max(1, phone_count) / 10)


def confidence(feature_vector: tuple[float, ...]) -> float:
    """0–1: how likely the phrase was really said alone (the logistic model)."""
    z = _BIAS + sum(w * (x - m) / s for w, x, m, s in
                    zip(_WEIGHTS, feature_vector, _MEAN, _STD))
    z = max(-60.0, min(60.0, z))
    return 1.0 / (1.0 + math.exp(-z))
