"""Korean transcripts compared with command phrases by sound (hub.voice.jamo)."""

import pytest

from hub.voice import jamo


@pytest.mark.parametrize("text, expected", [
    ("살려 주세요", "ㅅㅏㄹㄹㅕㅈㅜㅅㅔㅛ"),   # the silent initial ㅇ of 요 is dropped
    ("응급", "ㅡŋㄱㅡㅂ"),                   # a final ㅇ is its own sound (ng)
    ("읽어", "ㅣㄹㄱㅓ"),                     # a double final splits: 일거
    ("옷", "ㅗㄷ"), ("부엌", "ㅂㅜㅓㄱ"),       # finals as they sound at a syllable's end
    ("가족전화", "ㄱㅏㅈㅗㄱㅈㅓㄴㅎㅘ"),
])
def test_sounds(text, expected):
    assert jamo.sounds(text) == expected


def test_spacing_and_other_characters_do_not_matter():
    assert jamo.sounds("가족 전화") == jamo.sounds("가족전화") == jamo.sounds("가족, 전화!")


@pytest.mark.parametrize("n, read", [(0, "영"), (4, "사"), (10, "십"), (15, "십오"),
                                     (25, "이십오"), (100, "백"), (2026, "이천이십육"),
                                     (10000, "만"), (30000, "삼만")])
def test_numbers_are_read_in_sino_korean(n, read):
    assert jamo.sino_korean(n) == read


def test_the_models_bracketed_numbers_are_read_out():
    assert jamo.sounds("[4] 월") == jamo.sounds("사월")


def test_close_sounds_cost_less_than_distant_ones():
    d = jamo.distance
    assert d("ㄱ", "ㄱ") == 0
    assert d("ㄱ", "ㅋ") < d("ㄱ", "ㅁ") == 1.0
    assert d("ㅐ", "ㅔ") < d("ㅐ", "ㅜ")
    assert d("ㄱ", "ㅏ") > 1.0  # a consonant heard as a vowel
    assert d("ㅏㅎㅏ", "ㅏㅏ") == 0.5  # ㅎ between vowels is often not heard
    assert d("", "ㄱㅏ") == d("ㄱㅏ", "") == 2.0


def test_rank_takes_the_nearest_transcript_and_divides_by_the_phrase_length():
    ranked = jamo.rank(["살려 주세요", "취소", "가족 전화"], ["살려 줘요", "살 려 주 세요"])
    assert ranked[0] == (0.0, "살려 주세요")  # "살 려 주 세요" sounds the same
    assert [p for _, p in ranked[1:]] == ["가족 전화", "취소"] or \
        [p for _, p in ranked[1:]] == ["취소", "가족 전화"]
    distance, phrase = jamo.rank(["취소"], ["취소 된 기차 가 있어요"])[0]
    assert phrase == "취소" and distance > 1.0  # the rest of the sentence is not explained
    assert jamo.rank(["네"], []) == [(1.0, "네")]
