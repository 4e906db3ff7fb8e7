"""Typing on the kiosk: Hangul composition, pinyin candidates, CJK line breaking (kinsoku)."""

import pytest

from hub.ui import hangul, pinyin
from hub.ui.linebreak import NO_END, NO_START, wrap_lines


@pytest.mark.parametrize("jamo, text", [
    ("ㄱㅣㅁㅇㅕㅇㅎㅡㅣ", "김영희"),        # ㅡ+ㅣ joins into ㅢ
    ("ㅇㅗㅏ", "와"),                      # ㅗ+ㅏ → ㅘ
    ("ㄱㅏㅂㅏ", "가바"),                  # the final moves on when a vowel follows
    ("ㄷㅏㄹㄱ", "닭"),                    # ㄹ+ㄱ → ㄺ
    ("ㄷㅏㄹㄱㅏ", "달가"),                # …and splits again before a vowel
    ("ㅂㅏㅂ ㅁㅓㄱㅇㅓ", "밥 먹어"),
    ("ㄱ", "ㄱ"), ("ㅏ", "ㅏ"), ("ㄱㄱ", "ㄱㄱ"),
    ("Kim ㅇㅏ", "Kim 아"),
])
def test_hangul_is_composed_by_the_unicode_formula(jamo, text):
    assert hangul.compose(jamo) == text


def test_pinyin_gives_name_characters_first():
    assert pinyin.candidates("li")[0] == "李"
    assert pinyin.candidates("wang")[0] == "王"
    assert "秀" in pinyin.candidates("xiu")[:3] and "英" in pinyin.candidates("ying")[:3]
    assert "吕" in pinyin.candidates("lv")                 # ü typed as v
    assert pinyin.candidates("xyz") == []
    assert pinyin.is_syllable_start("zh") and not pinyin.is_syllable_start("vv")


def _one_px_per_char(s):
    return float(len(s))


@pytest.mark.parametrize("width", range(3, 14))
def test_chinese_lines_never_start_with_closing_or_end_with_opening_punctuation(width):
    text = "妈妈好，我们星期天带孩子们来吃午饭。小明想给您看他的新画。他说「你好」。爱您的安娜"
    lines = wrap_lines(text, width, _one_px_per_char)
    assert "".join(lines) == text                      # nothing lost, nothing added
    assert all(len(line) <= width for line in lines)   # every line fits
    assert not any(line[0] in NO_START for line in lines)
    assert not any(line[-1] in NO_END for line in lines)


def test_korean_and_latin_words_are_not_split():
    lines = wrap_lines("엄마, 안녕하세요! 일요일에 아이들과 점심 먹으러 갈게요.", 10,
                       _one_px_per_char)
    assert lines == ["엄마, 안녕하세요!", "일요일에 아이들과", "점심 먹으러", "갈게요."]
    assert wrap_lines("a verylongwordindeed b", 6, _one_px_per_char)[1:3] == [
        "verylo", "ngword"]                              # only a word longer than a line
