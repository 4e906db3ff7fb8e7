"""The kiosk's own large keyboard, on a screen of its own: names, addresses, codes, passwords.

Kivy's docked keyboard had keys of about 42×37 px with 20 px labels at 3.45:1
contrast, drew its special keys as empty boxes (its icon font has no such glyphs in
Noto), covered the screen's Back button, and typed Latin letters only. A full QWERTY
cannot have 100 px keys on a 800×480 screen (ten keys across need 1 000 px), so this
keyboard shows **eight keys a page**, in alphabetical order, each ≥ 100×100 px with a
40 px label, and a key that names the next page ("i–p »"). Every key is a
:class:`~hub.ui.widgets.BigButton`, so the accessibility audit checks each one.

Three ways of typing, chosen with the language key:

* **ABC** — a–z, then digits and the marks addresses need (. / : - _ @); a name gets
  capital first letters by itself.
* **拼音** — type a syllable ("li"), press **选字 Choose**, press the character
  (:mod:`hub.ui.pinyin`: pypinyin's table turned round, name characters first).
* **한글** — consonant and vowel pages that take turns by themselves; letters are
  joined into syllables as you type (:mod:`hub.ui.hangul`).

The screen has two rows of keys so it still fits under the speech caption; the text
being typed is shown at the top, between **Back** (keeps the old text) and **Save**.
Why not a phone-based entry (a QR code to a page on the phone)? It would need a web
server on the hub and the phone on the same Wi-Fi — which is often what is being set
up; the on-screen keyboard works before any network exists.
"""

from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty

from hub.ui import hangul, pinyin
from hub.ui.i18n import _
from hub.ui.widgets import HubScreen

__all__ = ["TextEntryScreen", "SCREENS", "KEYS_PER_PAGE", "latin_pages", "hangul_pages"]

#: Character keys on one page (two rows of four).
KEYS_PER_PAGE = 8

_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_MARKS = {"name": " -'.", "url": "./:-_@", "code": "-", "password": "./:-_@!?#"}
_DIGITS = "1234567890"


def _chunks(keys: str | list[str]) -> list[list[str]]:
    keys = list(keys)
    return [keys[i:i + KEYS_PER_PAGE] for i in range(0, len(keys), KEYS_PER_PAGE)] or [[]]


def latin_pages(kind: str) -> list[list[str]]:
    """The ABC pages for a kind of field: letters, then digits and marks."""
    marks = _MARKS.get(kind, "")
    letters = _chunks(_LETTERS)
    # "y z" share their page with the first marks, so no page is nearly empty.
    tail = letters.pop() + list(marks)
    pages = letters + _chunks(tail)
    if kind not in ("name", "pinyin"):
        pages += _chunks(_DIGITS)
    return pages


def hangul_pages() -> list[list[str]]:
    """Consonant pages, then vowel pages."""
    return _chunks("ㄱㄴㄷㄹㅁㅂㅅㅇㅈㅊㅋㅌㅍㅎㄲㅆ") + _chunks("ㅏㅑㅓㅕㅗㅛㅜㅠㅡㅣㅐㅔㅒㅖㄸㅃ")


#: Index of the first vowel page in hangul_pages().
_VOWEL_PAGE = 2


def _page_name(keys: list[str]) -> str:
    """What the next-page key says: "i–p »", "1–0 »", "ㅏ–ㅠ »"."""
    shown = [k for k in keys if k.strip()]
    if not shown:
        return "»"
    return f"{shown[0]}–{shown[-1]} »" if len(shown) > 1 else f"{shown[0]} »"


class TextEntryScreen(HubScreen):
    """Type one line of text; ``on_done(text)`` gets it when Save is pressed."""

    family = True
    title = StringProperty("")
    #: name, url, code or password (which marks are on the keys; a password shows dots).
    kind = StringProperty("name")
    #: abc, pinyin or hangul.
    mode = StringProperty("abc")
    #: The committed text.
    text = StringProperty("")
    #: Letters typed but not yet turned into the text (pinyin letters, Hangul jamo).
    pending = StringProperty("")
    keys = ListProperty([])
    page = NumericProperty(0)
    choosing = BooleanProperty(False)
    next_label = StringProperty("»")
    shown = StringProperty("")
    #: The font of the keys and the field: the face of the script being typed (an
    #: English screen draws with Roboto, which has no Chinese or Korean glyphs).
    key_font = StringProperty("Roboto")

    _on_done = None

    def edit(self, title: str, text: str, kind: str, on_done) -> None:
        """Open the keyboard on ``text`` (go to the screen ``text_entry`` afterwards)."""
        self.title = title
        self.kind = kind
        self.text = text or ""
        self.pending = ""
        self.choosing = False
        self._on_done = on_done
        lang = self.app.lang if self.app else "en"
        self.mode = {"zh_CN": "pinyin", "ko": "hangul"}.get(lang, "abc") if kind == "name" \
            else "abc"
        self.page = 0
        self.update_keys()

    # -- what the keys show ----------------------------------------------------------------

    def pages(self) -> list[list[str]]:
        if self.choosing:
            return _chunks(pinyin.candidates(self.pending)) if self.pending else [[]]
        if self.mode == "hangul":
            return hangul_pages()
        return latin_pages(self.kind if self.mode == "abc" else "pinyin")

    def update_keys(self, *_a):
        pages = self.pages()
        self.page = int(self.page) % len(pages)
        keys = pages[self.page]
        self.keys = keys + [""] * (KEYS_PER_PAGE - len(keys))
        nxt = pages[(self.page + 1) % len(pages)]
        self.next_label = (_("More") + " »") if self.choosing else _page_name(nxt)
        self.shown = self.display()
        app = self.app
        if app is not None:
            from hub.ui.linebreak import has_cjk

            script = {"pinyin": "zh_CN", "hangul": "ko"}.get(self.mode)
            if script is None and has_cjk(self.text):
                script = "ko" if any("\uac00" <= c <= "\ud7af" for c in self.text) else "zh_CN"
            self.key_font = app.fonts.get(script, app.font_name) if script else app.font_name

    def value(self) -> str:
        """The text as it would be saved now (pending letters included)."""
        if self.mode == "hangul":
            return self.text + hangul.compose(self.pending)
        return self.text + self.pending

    def display(self) -> str:
        """What the field at the top shows (a password as dots, pinyin letters marked)."""
        if self.kind == "password":
            return "•" * len(self.value())
        if self.mode == "pinyin" and self.pending:
            return self.text + "[" + self.pending + "]"
        return self.value()

    def on_text(self, *_a):
        self.shown = self.display()

    def on_pending(self, *_a):
        self.shown = self.display()

    # -- key presses ---------------------------------------------------------------------------

    def press(self, index: int):
        if index >= len(self.keys) or not self.keys[index]:
            return
        key = self.keys[index]
        if self.choosing:  # a Chinese character chosen
            self.text += key
            self.pending = ""
            self.choosing = False
            self.page = 0
        elif self.mode == "pinyin" and key in _LETTERS:
            if pinyin.is_syllable_start(self.pending + key):
                self.pending += key
            else:
                self.say_message(_("No Chinese syllable starts like that."), error=True)
                return
        elif self.mode == "hangul" and (key in hangul.CONSONANTS or key in hangul.VOWELS):
            self.pending += key
            # consonant and vowel pages take turns by themselves
            self.page = _VOWEL_PAGE if key in hangul.CONSONANTS else 0
        else:
            self.commit_pending()
            if self.kind == "name" and key.isalpha() and (not self.text or
                                                          self.text[-1] in " -'"):
                key = key.upper()
            self.text += key
        self.message = ""
        self.update_keys()

    def commit_pending(self):
        """Turn pending letters into text (Hangul composed; pinyin letters kept as typed)."""
        if self.pending:
            self.text = self.value()
            self.pending = ""

    def space(self):
        if self.mode == "pinyin" and self.pending and not self.choosing:
            self.choose()
            return
        self.commit_pending()
        if self.text and not self.text.endswith(" "):
            self.text += " "
        self.update_keys()

    def choose(self):
        """选字: show the characters for the pinyin typed so far."""
        if not self.pending:
            return
        if not pinyin.candidates(self.pending):
            self.say_message(_("No characters for this pinyin. Type more letters."),
                             error=True)
            return
        self.choosing = True
        self.page = 0
        self.update_keys()

    def delete(self):
        if self.choosing:
            self.choosing = False
            self.page = 0
        elif self.pending:
            self.pending = self.pending[:-1]
        else:
            self.text = self.text[:-1]
        self.update_keys()

    def next_page(self):
        self.page += 1
        self.update_keys()

    def switch_mode(self):
        """ABC → 拼音 → 한글 → ABC (names only; addresses and codes are Latin)."""
        if self.kind != "name":
            return
        self.commit_pending()
        self.choosing = False
        order = ["abc", "pinyin", "hangul"]
        self.mode = order[(order.index(self.mode) + 1) % 3]
        self.page = 0
        self.update_keys()

    def save(self):
        self.commit_pending()
        text = " ".join(self.text.split())
        done, self._on_done = self._on_done, None
        self.app.back()
        if done:
            done(text)

    def spoken_text(self):
        return self.title


def mode_label(mode: str) -> str:
    """What the language key shows: the way of typing now in use."""
    return {"abc": "ABC", "pinyin": "拼音", "hangul": "한글"}.get(mode, mode)


SCREENS = [TextEntryScreen]
