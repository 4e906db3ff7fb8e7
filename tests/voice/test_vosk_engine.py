"""How VoskEngine reads vosk's n-best answers (hub.voice.engines.best_phrase).

vosk turns a JSON phrase list into a bigram language model, so any sequence of the
phrases' words can come out. The engine takes the best alternative that is one whole
phrase, but an emergency phrase only when vosk ranked it first. The inputs here have
the shape of vosk's ``Result()`` with ``SetMaxAlternatives`` and ``SetWords``; the real
recogniser runs on the synthetic corpus in test_corpus.py.
"""

import math

import pytest

from hub.voice.engines import best_phrase
from hub.voice.grammar import load_language

KO = load_language("ko")


def _alt(text, score, start=1.0):
    words = [{"word": w, "start": start + i * 0.3, "end": start + i * 0.3 + 0.3}
             for i, w in enumerate(text.split())]
    return {"confidence": score, "text": text, "result": words}


def test_a_lower_ranked_whole_phrase_is_taken_over_a_word_sequence():
    parts = [{"alternatives": [_alt("줘 줘 전화", 80.0), _alt("가족 전화", 78.0),
                               _alt("줘 전화", 70.0)]}]
    text, posterior, words = best_phrase(KO, parts, scale=0.3)
    assert text == "가족 전화" and [w["word"] for w in words] == ["가족", "전화"]
    weights = [1.0, math.exp(-0.6), math.exp(-3.0)]
    assert posterior == pytest.approx(weights[1] / sum(weights))


def test_an_emergency_phrase_below_the_first_answer_is_never_taken():
    parts = [{"alternatives": [_alt("그만 주세요", 80.0), _alt("살려 주세요", 79.9),
                               _alt("취소", 60.0)]}]
    text, posterior, words = best_phrase(KO, parts)
    assert (text, posterior, words) == ("그만 주세요", 0.0, [])


def test_an_emergency_phrase_ranked_first_is_taken_with_its_share():
    parts = [{"alternatives": [_alt("살려 주세요", 80.0), _alt("살려 주세요", 79.0),
                               _alt("네", 70.0)]},
             {"alternatives": [{"confidence": 20.0, "text": ""}]}]  # trailing silence
    text, posterior, _ = best_phrase(KO, parts, scale=1.0)
    weights = [1.0, math.exp(-1.0), math.exp(-10.0)]
    assert text == "살려 주세요"
    assert posterior == pytest.approx((weights[0] + weights[1]) / sum(weights))


def test_an_utterance_split_in_two_or_no_phrase_at_all_has_no_confidence():
    split = [{"alternatives": [_alt("네", 50.0)]}, {"alternatives": [_alt("취소", 50.0)]}]
    assert best_phrase(KO, split) == ("네 취소", 0.0, [])
    none = [{"alternatives": [_alt("줘 줘", 50.0), _alt("주세요 줘", 49.0)]}]
    assert best_phrase(KO, none) == ("줘 줘", 0.0, [])
    assert best_phrase(KO, [{"alternatives": [{"confidence": 1.0, "text": ""}]}]) == \
        ("", 0.0, [])


def test_the_wake_phrase_alone_or_before_a_command_counts_but_not_before_other_words():
    wake = KO.wake[0]
    assert best_phrase(KO, [{"alternatives": [_alt(wake, 50.0)]}])[0] == wake
    assert best_phrase(KO, [{"alternatives": [_alt(f"{wake} 몇 시", 50.0)]}])[0] == \
        f"{wake} 몇 시"
    text, posterior, _ = best_phrase(KO, [{"alternatives": [_alt(f"{wake} 더 아니요", 50.0)]}])
    assert posterior == 0.0
