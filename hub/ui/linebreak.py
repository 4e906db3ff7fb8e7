"""Line breaking for the kiosk's three languages, with the CJK rules Kivy does not know.

Kivy wraps a label at spaces only; a Chinese sentence has none, so Kivy breaks it at
whatever character fills the line — and a line may then start with "。" or "，", or
end with "「". This module breaks lines itself and hands Kivy text that already has
its line ends (``\\n``), following the common kinsoku shori rules (W3C "Requirements
for Chinese Text Layout" §3.1.7 and "Requirements for Hangul Text Layout" §3.2):

* a line never *starts* with closing punctuation (。，、．！？：；）」』】》〉”’…％ and
  their half-width forms) — the character before it moves down with it;
* a line never *ends* with opening punctuation (（「『【《〈“‘) — it moves down;
* Latin words, numbers and Korean words (eojeol, separated by spaces) are not split;
  a Han character or kana can be a line end anywhere else.

It owns no widget: :class:`hub.ui.widgets.Body` and the other labels call
:func:`wrap` from their ``texture_update``; :func:`hub.ui.widgets.paginate` cuts the
wrapped lines into pages.
"""

import re
from collections.abc import Callable

__all__ = ["NO_START", "NO_END", "has_cjk", "units", "wrap", "wrap_lines"]

#: Characters that must not begin a line.
NO_START = set("。，、．！？：；）」』】》〉〕］｝”’…‥％・ー～"
               ",.!?:;)]}%'\"") | {"\u3009", "\uff09", "\uff0c", "\uff0e"}
#: Characters that must not end a line.
NO_END = set("（「『【《〈〔［｛“‘([{")

# Han ideographs, CJK punctuation, kana, full-width forms: each is a break point of its own.
_CJK = re.compile(r"[\u2e80-\u2fff\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
                  r"\uff00-\uffef]")
_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")


def has_cjk(text: str) -> bool:
    """True if ``text`` has any Chinese, Japanese or Korean character."""
    return bool(_CJK.search(text) or _HANGUL.search(text))


def units(paragraph: str) -> list[str]:
    """Split a paragraph into the pieces a line may end after.

    A Han character (or CJK punctuation) is one piece; a run of anything else up to
    and including the spaces after it (a Latin or Korean word) is one piece.
    """
    out: list[str] = []
    word = ""
    for ch in paragraph:
        if _CJK.match(ch):
            if word:
                out.append(word)
                word = ""
            out.append(ch)
        elif ch == " ":
            word += ch
            out.append(word)
            word = ""
        else:
            word += ch
    if word:
        out.append(word)
    return out


def wrap_lines(text: str, width: float, measure: Callable[[str], float]) -> list[str]:
    """``text`` broken into lines no wider than ``width`` (by ``measure``), kinsoku kept.

    When a line must end before a piece that may not start a line, the last piece of
    that line moves down with it (oidashi); a piece that may not end a line moves
    down too. A piece wider than the whole line (a very long word or URL) is cut by
    characters.
    """
    result: list[str] = []
    for paragraph in text.split("\n"):
        lines: list[list[str]] = [[]]
        for piece in units(paragraph):
            line = lines[-1]
            w = measure("".join(line) + piece.rstrip()) if line else measure(piece.rstrip())
            if line and w > width:
                carry: list[str] = []
                if piece[:1] in NO_START:
                    guard = 0
                    while len(line) > 1 and guard < 2:
                        carry.insert(0, line.pop())
                        guard += 1
                        if carry[0][:1] not in NO_START:
                            break
                while len(line) > 1 and line[-1].rstrip()[-1:] in NO_END:
                    carry.insert(0, line.pop())
                lines.append(carry)
                line = carry
                w = measure("".join(line) + piece.rstrip())
            if not line and w > width:
                # Too long for any line: cut it by characters.
                chunk = ""
                for ch in piece:
                    if chunk and measure(chunk + ch) > width:
                        line.append(chunk)
                        line = []
                        lines.append(line)
                        chunk = ""
                    chunk += ch
                piece = chunk
            line.append(piece)
        result.extend("".join(line).rstrip() for line in lines)
    return result


def wrap(text: str, width: float, measure: Callable[[str], float]) -> str:
    """:func:`wrap_lines` joined with ``\\n``."""
    return "\n".join(wrap_lines(text, width, measure))
