"""Korean text from single letters (jamo), the way a two-set (dubeolsik) keyboard builds it.

The kiosk's keyboard types one compatibility jamo at a time (ㄱ, ㅏ, ㅁ…); this module
turns such a sequence into syllables by the Unicode composition formula (The Unicode
Standard, §3.12 "Conjoining Jamo Behavior"):

    syllable = 0xAC00 + (initial × 21 + medial) × 28 + final

with the usual two-set rules: two vowels may join (ㅗ+ㅏ → ㅘ), two final consonants
may join (ㄹ+ㄱ → ㄺ), and a final consonant moves to the next syllable when a vowel
follows it (갑 + ㅏ → 가바; 닭 + ㅏ → 달가). No library is needed: it is a formula and
three small tables. Anything that is not a jamo passes through unchanged.
"""

__all__ = ["compose", "INITIALS", "MEDIALS", "FINALS", "CONSONANTS", "VOWELS"]

#: Compatibility jamo in the order of the Unicode formula's three indexes.
INITIALS = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
MEDIALS = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
FINALS = " ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ"  # index 0: none
CONSONANTS = set(INITIALS) | set(FINALS[1:])
VOWELS = set(MEDIALS)

_JOIN_VOWEL = {("ㅗ", "ㅏ"): "ㅘ", ("ㅗ", "ㅐ"): "ㅙ", ("ㅗ", "ㅣ"): "ㅚ", ("ㅜ", "ㅓ"): "ㅝ",
               ("ㅜ", "ㅔ"): "ㅞ", ("ㅜ", "ㅣ"): "ㅟ", ("ㅡ", "ㅣ"): "ㅢ"}
_JOIN_FINAL = {("ㄱ", "ㅅ"): "ㄳ", ("ㄴ", "ㅈ"): "ㄵ", ("ㄴ", "ㅎ"): "ㄶ", ("ㄹ", "ㄱ"): "ㄺ",
               ("ㄹ", "ㅁ"): "ㄻ", ("ㄹ", "ㅂ"): "ㄼ", ("ㄹ", "ㅅ"): "ㄽ", ("ㄹ", "ㅌ"): "ㄾ",
               ("ㄹ", "ㅍ"): "ㄿ", ("ㄹ", "ㅎ"): "ㅀ", ("ㅂ", "ㅅ"): "ㅄ"}
_SPLIT_FINAL = {v: k for k, v in _JOIN_FINAL.items()}


def _syllable(initial: str, medial: str, final: str = "") -> str:
    return chr(0xAC00 + (INITIALS.index(initial) * 21 + MEDIALS.index(medial)) * 28
               + (FINALS.index(final) if final else 0))


def compose(jamo: str) -> str:
    """Compose a string of compatibility jamo (and anything else) into Hangul syllables.

    >>> compose("ㄱㅣㅁㅇㅕㅇㅎㅡㅣ")
    '김영희'
    """
    out: list[str] = []
    # The syllable being built: initial, medial, final (each "" when absent).
    cho = jung = jong = ""

    def flush():
        nonlocal cho, jung, jong
        if cho and jung:
            out.append(_syllable(cho, jung, jong))
        else:
            out.append(cho + jung + jong)
        cho = jung = jong = ""

    for ch in jamo:
        if ch in VOWELS:
            if cho and jung and not jong and (jung, ch) in _JOIN_VOWEL:
                jung = _JOIN_VOWEL[(jung, ch)]
            elif cho and jung and jong:
                # The final consonant (or the second half of a double one) starts the
                # next syllable: 갑 + ㅏ → 가 + 바.
                if jong in _SPLIT_FINAL:
                    keep, move = _SPLIT_FINAL[jong]
                else:
                    keep, move = "", jong
                jong = keep
                flush()
                cho, jung = move, ch
            elif cho and not jung:
                jung = ch
            else:
                if cho or jung:
                    flush()
                if jung == "" and not cho:
                    jung = ch
                    flush()  # a vowel alone stays a letter
        elif ch in CONSONANTS:
            if cho and jung and not jong and ch in FINALS[1:]:
                jong = ch
            elif cho and jung and jong and (jong, ch) in _JOIN_FINAL:
                jong = _JOIN_FINAL[(jong, ch)]
            else:
                if cho or jung:
                    flush()
                if ch in INITIALS:
                    cho = ch
                else:  # a double final (ㄳ…) typed alone
                    out.append(ch)
        else:
            if cho or jung:
                flush()
            out.append(ch)
    if cho or jung:
        flush()
    return "".join(out)
