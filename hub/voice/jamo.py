"""Korean transcripts matched to command phrases by sound, at the level of jamo.

A free decode (vosk with the model's own language model, no grammar) writes what it
heard with the model's whole vocabulary, so a command comes out in other spellings or
word splits ("살려 주세요" as "살려 줘요", "사 려 주 세요"). Comparing syllables or words
would miss those; comparing letters (jamo) that stand for sounds does not.

:func:`sounds` turns text into such letters: each Hangul syllable is split by the
Unicode formula (The Unicode Standard, §3.12; the tables are those of
:mod:`hub.ui.hangul`, repeated here so that the voice process does not import the kiosk
package), the silent initial ㅇ is dropped, a final consonant is written as the sound
it makes at the end of a syllable (ㅅ ㅆ ㅈ ㅊ ㅌ ㅎ → ㄷ, ㅋ ㄲ → ㄱ, ㅍ → ㅂ), double finals
split into their two letters, and spaces disappear (Korean spacing does not change the
sound). The model also writes numbers as ``[4]`` (사) or ``[15]`` (십오): those are read
out in Sino-Korean.

:func:`distance` is an edit distance between two such strings in which close sounds cost
less than distant ones (ㄱ/ㄲ/ㅋ, ㅐ/ㅔ …), and :func:`rank` gives every candidate phrase
its distance to the nearest of several transcripts, divided by the phrase's length.
"""

import functools
import re

__all__ = ["sounds", "distance", "rank", "sino_korean"]

INITIALS = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
MEDIALS = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
FINALS = " ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ"  # index 0: none

# a final consonant as it sounds at the end of a syllable; double finals as two letters
# (the second one is heard when a vowel follows: 읽어 → 일거)
_FINAL_SOUND = {"ㅅ": "ㄷ", "ㅆ": "ㄷ", "ㅈ": "ㄷ", "ㅊ": "ㄷ", "ㅌ": "ㄷ", "ㅎ": "ㄷ",
                "ㅋ": "ㄱ", "ㄲ": "ㄱ", "ㅍ": "ㅂ", "ㄳ": "ㄱㅅ", "ㄵ": "ㄴㅈ", "ㄶ": "ㄴ",
                "ㄺ": "ㄹㄱ", "ㄻ": "ㄹㅁ", "ㄼ": "ㄹㅂ", "ㄽ": "ㄹㅅ", "ㄾ": "ㄹㅌ",
                "ㄿ": "ㄹㅂ", "ㅀ": "ㄹ", "ㅄ": "ㅂㅅ", "ㅇ": "ŋ"}

_DIGITS = "영일이삼사오육칠팔구"


def sino_korean(n: int) -> str:
    """A number read out in Sino-Korean (4 → 사, 15 → 십오, 2026 → 이천이십육)."""
    if n == 0:
        return "영"
    out = []
    for unit, name in ((10 ** 8, "억"), (10 ** 4, "만"), (1000, "천"), (100, "백"), (10, "십")):
        if n >= unit:
            q, n = divmod(n, unit)
            out.append(("" if q == 1 and unit < 10 ** 8 else sino_korean(q)) + name)
    if n:
        out.append(_DIGITS[n])
    return "".join(out)


def _number(m: re.Match) -> str:
    digits = m.group(1)
    if len(digits) > 12:
        return ""
    return sino_korean(int(digits))


@functools.lru_cache(maxsize=4096)
def sounds(text: str) -> str:
    """``text`` as a string of jamo standing for sounds (see the module's text)."""
    text = re.sub(r"\[(\d+)\]", _number, text)
    out = []
    for ch in text:
        code = ord(ch) - 0xAC00
        if 0 <= code < 11172:
            initial, rest = divmod(code, 21 * 28)
            medial, final = divmod(rest, 28)
            if INITIALS[initial] != "ㅇ":
                out.append(INITIALS[initial])
            out.append(MEDIALS[medial])
            if final:
                out.append(_FINAL_SOUND.get(FINALS[final], FINALS[final]))
        elif ch in INITIALS or ch in MEDIALS:
            out.append(ch)
    return "".join(out)


# Groups of sounds that are easily heard as one another; a substitution inside a group
# costs its weight instead of 1.
_CLOSE = [
    ("ㄱㄲㅋ", 0.4), ("ㄷㄸㅌ", 0.4), ("ㅂㅃㅍ", 0.4), ("ㅅㅆ", 0.4), ("ㅈㅉㅊ", 0.4),
    ("ㄴㄹ", 0.6), ("ㅁㄴ", 0.6), ("ŋㄴ", 0.6), ("ㄷㅈ", 0.6), ("ㅎ", 1.0),
    ("ㅐㅔ", 0.2), ("ㅒㅖ", 0.2), ("ㅙㅚㅞ", 0.2), ("ㅓㅗ", 0.6), ("ㅜㅡ", 0.6),
    ("ㅢㅣ", 0.5), ("ㅕㅛ", 0.6), ("ㅑㅕ", 0.6), ("ㅝㅗ", 0.6), ("ㅟㅣ", 0.6),
    ("ㅘㅏ", 0.6), ("ㅠㅜ", 0.6),
]
_SUB: dict[tuple[str, str], float] = {}
for _group, _weight in _CLOSE:
    for _a in _group:
        for _b in _group:
            if _a != _b:
                _SUB[(_a, _b)] = min(_SUB.get((_a, _b), 1.0), _weight)
_VOWELS = set(MEDIALS)
# dropping or adding ㅎ (often silent between vowels) or a vowel costs less than a consonant
_INDEL = {"ㅎ": 0.5}


def _sub(a: str, b: str) -> float:
    if a == b:
        return 0.0
    if (a in _VOWELS) != (b in _VOWELS):
        return 1.2
    return _SUB.get((a, b), 1.0)


@functools.lru_cache(maxsize=65536)
def distance(heard: str, phrase: str) -> float:
    """Weighted edit distance between two :func:`sounds` strings."""
    prev = [0.0]
    for b in phrase:
        prev.append(prev[-1] + _INDEL.get(b, 1.0))
    for a in heard:
        cur = [prev[0] + _INDEL.get(a, 1.0)]
        for j, b in enumerate(phrase, 1):
            cur.append(min(prev[j] + _INDEL.get(a, 1.0), cur[j - 1] + _INDEL.get(b, 1.0),
                           prev[j - 1] + _sub(a, b)))
        prev = cur
    return prev[-1]


def rank(phrases, transcripts) -> list[tuple[float, str]]:
    """Every phrase with its distance to the nearest transcript, per letter of the
    phrase, best first.

    :param phrases: candidate texts (command phrases, wake phrases, wake + command).
    :param transcripts: what a free decode heard (its n-best texts).
    """
    heard = [sounds(t) for t in transcripts if t]
    out = []
    for phrase in phrases:
        target = sounds(phrase)
        best = min((distance(h, target) for h in heard), default=float(len(target)))
        out.append((best / max(1, len(target)), phrase))
    out.sort()
    return out
