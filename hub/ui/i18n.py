"""The kiosk's words in English, Simplified Chinese and Korean: gettext catalogs, switched live.

Catalogs are ordinary GNU gettext ``.po`` files under ``assets/locale/<lang>/LC_MESSAGES/
hub.po`` (the source strings are English, so English needs none). No compiled ``.mo``
is kept in the repository: :func:`compile_po` is a tiny msgfmt that turns a ``.po``
into ``.mo`` bytes in memory at start, which :class:`gettext.GNUTranslations` reads.

Switching language is instant: :func:`set_language` swaps the catalog, and the
layouts re-evaluate because every text in a ``.kv`` file is written
``_("Help", app.lang)`` — the second argument is only there so that Kivy re-runs the
expression when ``app.lang`` changes.

``python -m hub.ui.i18n extract`` prints a ``.pot`` template of every string the
kiosk uses; ``python -m hub.ui.i18n check`` lists missing or broken translations.

What the *core* says aloud is not here (see :mod:`hub.phrases`).
"""

import ast
import gettext
import io
import os
import re
import struct
import sys
from pathlib import Path

__all__ = ["LANGUAGES", "LOCALE_DIR", "DOMAIN", "_", "ngettext", "set_language", "language",
           "compile_po", "parse_po", "extract_messages", "check_catalogs"]

#: Languages the kiosk speaks, each named in its own script (never translated).
LANGUAGES = {"en": "English", "zh_CN": "中文", "ko": "한국어"}
DOMAIN = "hub"
ASSETS_DIR = Path(os.environ.get("HUB_ASSETS_DIR")
                  or Path(__file__).resolve().parent.parent.parent / "assets")
LOCALE_DIR = ASSETS_DIR / "locale"

_catalogs: dict[str, gettext.NullTranslations] = {}
_current: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"


def _unquote(s: str) -> str:
    return ast.literal_eval(s) if s.startswith('"') else s


def parse_po(text: str) -> list[dict]:
    """Parse ``.po`` text into entries ``{ctx, id, id_plural, str: {n: text}, fuzzy}``."""
    entries, entry, key = [], None, None

    def flush():
        if entry is not None and ("id" in entry):
            entries.append(entry)

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if line.startswith("#,") and "fuzzy" in line:
                flush()
                entry, key = {"fuzzy": True, "str": {}}, None
            continue
        m = re.match(r'(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")$', line)
        if m:
            word, index, value = m.group(1), m.group(2), _unquote(m.group(3))
            if word in ("msgctxt", "msgid") and (entry is None or "id" in entry and
                                                 (word == "msgctxt" or entry["str"])):
                flush()
                entry = {"fuzzy": False, "str": {}}
            elif entry is None:
                entry = {"fuzzy": False, "str": {}}
            if word == "msgctxt":
                entry["ctx"], key = value, ("ctx",)
            elif word == "msgid":
                entry["id"], key = value, ("id",)
            elif word == "msgid_plural":
                entry["id_plural"], key = value, ("id_plural",)
            else:
                n = int(index) if index is not None else 0
                entry["str"][n] = value
                key = ("str", n)
        elif line.startswith('"') and key is not None:
            value = _unquote(line)
            if key[0] == "str":
                entry["str"][key[1]] += value
            else:
                entry[key[0]] += value
        else:
            raise ValueError(f"cannot read this .po line: {raw!r}")
    flush()
    return entries


def compile_po(text: str) -> bytes:
    """A tiny msgfmt: ``.po`` text → ``.mo`` bytes (fuzzy and untranslated entries left out)."""
    messages = {}
    for e in parse_po(text):
        if e.get("fuzzy") and e["id"]:
            continue
        strs = [e["str"][i] for i in sorted(e["str"])]
        if e["id"] and not any(strs):
            continue
        key = e["id"] if "id_plural" not in e else e["id"] + "\0" + e["id_plural"]
        if "ctx" in e:
            key = e["ctx"] + "\x04" + key
        messages[key.encode()] = "\0".join(strs).encode()
    keys = sorted(messages)
    ids = b"".join(k + b"\0" for k in keys)
    strs = b"".join(messages[k] + b"\0" for k in keys)
    n = len(keys)
    start = 7 * 4 + 16 * n
    koffsets, voffsets, pos = [], [], 0
    for k in keys:
        koffsets += [len(k), start + pos]
        pos += len(k) + 1
    pos = 0
    for k in keys:
        v = messages[k]
        voffsets += [len(v), start + len(ids) + pos]
        pos += len(v) + 1
    header = struct.pack("<7I", 0x950412DE, 0, n, 7 * 4, 7 * 4 + 8 * n, 0, 0)
    return (header + struct.pack(f"<{2 * n}I", *koffsets) + struct.pack(f"<{2 * n}I", *voffsets)
            + ids + strs)


def po_path(lang: str) -> Path:
    """Where a language's catalog lives."""
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def catalog(lang: str) -> gettext.NullTranslations:
    """The translations for a language (English: the source strings)."""
    if lang not in _catalogs:
        path = po_path(lang)
        if lang == "en" or not path.exists():
            _catalogs[lang] = gettext.NullTranslations()
        else:
            _catalogs[lang] = gettext.GNUTranslations(
                io.BytesIO(compile_po(path.read_text(encoding="utf-8"))))
    return _catalogs[lang]


def set_language(lang: str) -> None:
    """Make ``lang`` the current language (unknown codes fall back to English)."""
    global _current, _language
    if lang not in LANGUAGES:
        lang = "en"
    _language = lang
    _current = catalog(lang)


def language() -> str:
    """The current language code."""
    return _language


def _(text: str, *_depends) -> str:
    """Translate ``text`` into the current language.

    Extra arguments are ignored: in ``.kv`` files they name the properties the text
    depends on (``_("Help", app.lang)``) so Kivy re-evaluates it on a language switch.
    """
    return _current.gettext(text)


def ngettext(singular: str, plural: str, n: int, *_depends) -> str:
    """Translate a text that depends on a number (``{n} new`` / ``{n} new``)."""
    return _current.ngettext(singular, plural, n)


# -- keeping catalogs complete ----------------------------------------------------------

_KV_CALL = re.compile(r"""\b(_|ngettext)\(\s*(?P<q>["'])(?P<s>(?:\\.|(?!(?P=q)).)*)(?P=q)"""
                      r"""(?:\s*,\s*(?P<q2>["'])(?P<p>(?:\\.|(?!(?P=q2)).)*)(?P=q2))?""")


def _py_messages(path: Path):
    """``_("…")`` and ``ngettext("…", "…", n)`` calls in Python source (adjacent string
    literals are already joined by the parser)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ("_", "ngettext") and node.args):
            continue
        first = node.args[0]
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            continue
        plural = None
        if node.func.id == "ngettext" and len(node.args) > 1 and isinstance(
                node.args[1], ast.Constant):
            plural = node.args[1].value
        yield first.value, plural


def _kv_messages(path: Path):
    for m in _KV_CALL.finditer(path.read_text(encoding="utf-8")):
        text = ast.literal_eval(m.group("q") + m.group("s") + m.group("q"))
        plural = None
        if m.group(1) == "ngettext" and m.group("p") is not None:
            plural = ast.literal_eval(m.group("q2") + m.group("p") + m.group("q2"))
        yield text, plural


def extract_messages(root: Path | None = None) -> dict[str, str | None]:
    """Every translatable string in ``hub/ui`` (.py and .kv): msgid → plural (or None)."""
    root = root or Path(__file__).resolve().parent
    found: dict[str, str | None] = {}
    for path in sorted([*root.glob("*.py"), *root.glob("*.kv")]):
        if path.name == "i18n.py":
            continue  # its docstrings show examples, not strings the kiosk shows
        messages = _py_messages(path) if path.suffix == ".py" else _kv_messages(path)
        for text, plural in messages:
            found[text] = plural
    return found


def _po_quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def pot_text() -> str:
    """A ``.pot`` template of every string."""
    out = ['msgid ""', 'msgstr ""', '"Content-Type: text/plain; charset=UTF-8\\n"', ""]
    for text, plural in extract_messages().items():
        out.append(f"msgid {_po_quote(text)}")
        if plural is not None:
            out += [f"msgid_plural {_po_quote(plural)}", 'msgstr[0] ""', ""]
        else:
            out += ['msgstr ""', ""]
    return "\n".join(out)


_FIELD = re.compile(r"\{[a-z_]*[^}]*\}")


def check_catalogs() -> list[str]:
    """Problems in the catalogs: missing or empty translations, fuzzy entries, and
    placeholders (``{name}``) that differ from the English text."""
    wanted = extract_messages()
    problems = []
    for lang in LANGUAGES:
        if lang == "en":
            continue
        path = po_path(lang)
        if not path.exists():
            problems.append(f"{lang}: no catalog at {path}")
            continue
        entries = {e["id"]: e for e in parse_po(path.read_text(encoding="utf-8")) if e["id"]}
        for text in wanted:
            e = entries.get(text)
            if e is None:
                problems.append(f"{lang}: missing {text!r}")
                continue
            if e.get("fuzzy"):
                problems.append(f"{lang}: fuzzy {text!r}")
            strs = [v for _k, v in sorted(e["str"].items())]
            if not strs or not all(strs):
                problems.append(f"{lang}: untranslated {text!r}")
                continue
            for s in strs:
                if sorted(_FIELD.findall(s)) != sorted(_FIELD.findall(text)):
                    problems.append(f"{lang}: placeholders differ in {text!r} → {s!r}")
        for text in entries:
            if text not in wanted:
                problems.append(f"{lang}: unused {text!r}")
    return problems


def main(argv=None) -> int:
    """``python -m hub.ui.i18n extract|check``."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["extract"]:
        print(pot_text())
        return 0
    if argv[:1] == ["check"]:
        problems = check_catalogs()
        print("\n".join(problems) or "catalogs complete")
        return 1 if problems else 0
    print("usage: python -m hub.ui.i18n extract|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
