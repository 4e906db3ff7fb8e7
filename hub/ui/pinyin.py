"""Chinese characters from pinyin, for typing a name on the kiosk's keyboard.

PyPI has no well-kept pinyin → character input library; ``pypinyin`` (well kept)
maps the other way, character → pinyin, for 41 000 characters. This module turns its
table round once, on first use: toneless syllable ("li") → characters read that way.
Candidates are ordered for *names*: first a small built-in list of the commonest
surname and given-name characters, then the 3 755 common characters of GB 2312 level 1
(first byte 0xB0–0xD7), then the rest of GB 2312. Rare characters outside GB 2312 are
left out: a family member will not find them on a phone keyboard either.
"""

import unicodedata
from functools import lru_cache

__all__ = ["candidates", "syllable_of", "is_syllable_start"]

#: The commonest surnames and given-name characters, most common first (they are put
#: ahead of the rest when they match).
NAME_CHARS = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余"
    "杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史"
    "陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
    "秀英华玉兰芳明国建文军平伟红丽珍梅春志海桂强云霞凤荣德晓小娟敏静燕永新生宝成福丹杰"
    "涛斌勇刚辉鹏飞波宇浩俊美淑琴慧婷雪莉萍艳玲佳欣立明亮光辰东南山河清月星爱")


def syllable_of(reading: str) -> str:
    """A pinyin reading without its tone mark, ü written v: "lǚ" → "lv"."""
    out = []
    for c in unicodedata.normalize("NFD", reading):
        if c == "\u0308":       # the diaeresis of ü
            out[-1] = "v"
        elif not unicodedata.combining(c):
            out.append(c)
    return "".join(out).lower()


def _rank(ch: str) -> tuple[int, int]:
    at = NAME_CHARS.find(ch)
    if at >= 0:
        return (0, at)
    try:
        code = ch.encode("gb2312")
    except UnicodeEncodeError:
        return (3, ord(ch))
    level = 1 if 0xB0 <= code[0] <= 0xD7 else 2
    return (level, int.from_bytes(code, "big"))


def _readings() -> dict:
    """pypinyin's character → readings table (``pinyin_dict.json``), read straight from the
    file: importing ``pypinyin`` would also load its phrase dictionary and keep ~55 MiB in
    the kiosk for as long as it runs (issue 12); the table below needs 1 MiB."""
    import importlib.util
    import json
    from pathlib import Path

    spec = importlib.util.find_spec("pypinyin")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("pypinyin is not installed (pip install '.[kiosk]')")
    path = Path(next(iter(spec.submodule_search_locations))) / "pinyin_dict.json"
    return json.loads(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _table() -> dict[str, list[str]]:
    table: dict[str, list[str]] = {}
    for code, readings in _readings().items():
        ch = chr(int(code))
        if _rank(ch)[0] == 3:
            continue
        for reading in readings.split(","):
            key = syllable_of(reading)
            bucket = table.setdefault(key, [])
            if ch not in bucket:
                bucket.append(ch)
    for bucket in table.values():
        bucket.sort(key=_rank)
    return table


def candidates(syllable: str) -> list[str]:
    """Characters read ``syllable`` (toneless, lower case, ü as v), likeliest first."""
    return list(_table().get(syllable.strip().lower(), []))


def is_syllable_start(letters: str) -> bool:
    """True if some syllable starts with ``letters`` (so typing can go on)."""
    letters = letters.lower()
    return any(k.startswith(letters) for k in _table())
