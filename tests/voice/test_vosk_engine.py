"""How VoskEngine reads vosk's n-best answers (hub.voice.engines.best_phrase).

vosk turns a JSON phrase list into a bigram language model, so any sequence of the
phrases' words can come out. The engine takes the best alternative that is one whole
phrase, but an emergency phrase only when vosk ranked it first. The inputs here have
the shape of vosk's ``Result()`` with ``SetMaxAlternatives`` and ``SetWords``; the real
recogniser runs on the synthetic corpus in test_corpus.py.
"""

import math

import pytest

from hub.voice.engines import SOUND_MATCH, _texts, best_phrase, sound_candidates, sound_match
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


# -- the second opinion by sound (sound_match): grammar n-best + free decode ------------

def _sound(grammar, free):
    params = SOUND_MATCH["ko"]
    return sound_match(KO, sound_candidates(KO), grammar, free, params)


def test_a_phrase_both_decodes_sound_like_is_taken():
    # the grammar's bigram strung the phrase's words wrongly, the free decode spelled it
    # its own way: both sound like "문자 읽어 줘"
    assert _sound(["문자 읽어 줘 줘", "문자 줘"], ["문자 일 거 줘", "문자 읽어 줘요"]) == "문자 읽어 줘"
    assert _sound(["더 크 게", "더 작게"], ["더 크게요"]) == "더 크게"


def test_an_ordinary_sentence_is_not_taken_even_when_the_grammar_heard_a_phrase():
    # "취소된 기차가 있어요": the grammar can only say its own words, the free decode says more
    assert _sound(["취소", "취소 네"], ["취소 된 기차 가 있어요"]) is None
    # what the two decodes made of corpus sentences (espeak-ng "ko"): the grammar's n-best
    # holds a phrase, the free decode heard something else
    assert _sound(["소리 크게 시 더 예", "가족 내 시 더 예", "가족 전화"],
                  ["[10] 일 오후 이고 그리스 [2] 차 유공", "[10] 일 오후 이고 그 [3] 류"]) is None
    assert _sound(["안녕", "안녕 허브", "전화 주세요"],
                  ["왠지 낮은 기온 과 여성 이고", "왠지 낮은 개업 과 여성 이고"]) is None


def test_an_emergency_phrase_is_never_taken_by_sound():
    assert _sound(["살려 주세요"], ["살려 주세요"]) is None
    assert _sound(["안녕 허브 응급"], ["안녕 허브 응급"]) is None


def test_the_wake_phrase_is_never_taken_by_sound():
    # a phrase taken by sound only acts inside a window something surer opened
    assert _sound(["안녕 허브"], ["안녕 허브"]) is None
    assert _sound(["안녕 허브 몇 시"], ["안녕 허브 몇 시"]) is None  # "몇 시" explains too little
    assert not [p for p in sound_candidates(KO) if KO.match(p).woke]


def test_no_sound_match_without_both_decodes():
    assert _sound([], ["문자 읽어 줘"]) is None
    assert _sound(["문자 읽어 줘"], []) is None


def test_the_texts_of_a_split_utterance_are_joined():
    parts = [{"alternatives": [_alt("더", 9.0), _alt("네", 8.0)]},
             {"alternatives": [_alt("크게", 9.0), _alt("작게", 8.0)]},
             {"alternatives": [{"confidence": 1.0, "text": ""}]}]
    assert _texts(parts) == ["더 크게", "네 크게", "더 작게"]
    assert _texts([{"alternatives": [_alt("네", 9.0), _alt("예", 8.0)]}]) == ["네", "예"]
    assert _texts([]) == []


def test_the_free_decode_runs_only_when_a_phrase_is_near_the_grammars_texts():
    calls = []

    def free():
        calls.append(1)
        return ["더 크게요"]

    params = SOUND_MATCH["ko"]
    far = ["줘 줘 줘 줘 읽어 줘 주세요 네 예"]  # an ordinary sentence strung from the words
    assert sound_match(KO, sound_candidates(KO), far, free, params) is None and calls == []
    assert sound_match(KO, sound_candidates(KO), ["더 크 게"], free, params) == "더 크게"
    assert calls == [1]
