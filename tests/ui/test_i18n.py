"""Three languages: complete catalogs, a msgfmt that agrees with GNU's, live switching."""

import gettext
import io
import shutil
import subprocess

import pytest

from hub.ui import i18n


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    i18n.set_language("en")


def test_catalogs_are_complete_and_placeholders_match():
    assert i18n.check_catalogs() == []


def test_every_language_changes_the_words_at_once():
    i18n.set_language("zh_CN")
    assert i18n._("Help") == "求助"
    i18n.set_language("ko")
    assert i18n._("Help") == "도움 요청"
    i18n.set_language("en")
    assert i18n._("Help") == "Help"
    i18n.set_language("xx")  # unknown: English, never an error
    assert i18n.language() == "en"


def test_plurals():
    assert i18n.ngettext("{n} new", "{n} new", 3).format(n=3) == "3 new"
    i18n.set_language("zh_CN")
    assert i18n.ngettext("{n} new", "{n} new", 3).format(n=3) == "3条新消息"


@pytest.mark.skipif(not shutil.which("msgfmt"), reason="GNU gettext's msgfmt not installed")
@pytest.mark.parametrize("lang", ["zh_CN", "ko"])
def test_tiny_msgfmt_agrees_with_gnu_msgfmt(lang, tmp_path):
    po = i18n.po_path(lang)
    subprocess.run(["msgfmt", "--check", "-o", str(tmp_path / "gnu.mo"), str(po)], check=True)
    gnu = gettext.GNUTranslations(open(tmp_path / "gnu.mo", "rb"))
    ours = gettext.GNUTranslations(io.BytesIO(i18n.compile_po(po.read_text(encoding="utf-8"))))
    for msgid, plural in i18n.extract_messages().items():
        if plural is None:
            assert ours.gettext(msgid) == gnu.gettext(msgid)
        else:
            assert ours.ngettext(msgid, plural, 2) == gnu.ngettext(msgid, plural, 2)


def test_parse_po_reads_multiline_fuzzy_and_context():
    text = '''
msgid ""
msgstr "Plural-Forms: nplurals=1; plural=0;\\n"

#, fuzzy
msgid "Old"
msgstr "Alt"

msgctxt "button"
msgid "Open"
msgstr "Auf"

msgid "A long "
"line"
msgstr "Eine lange "
"Zeile"
'''
    entries = {e["id"]: e for e in i18n.parse_po(text)}
    assert entries["A long line"]["str"][0] == "Eine lange Zeile"
    assert entries["Old"]["fuzzy"] and entries["Open"]["ctx"] == "button"
    cat = gettext.GNUTranslations(io.BytesIO(i18n.compile_po(text)))
    assert cat.gettext("Old") == "Old"            # fuzzy entries are left out
    assert cat.pgettext("button", "Open") == "Auf"
    assert cat.gettext("A long line") == "Eine lange Zeile"


def test_the_translators_template_is_up_to_date():
    pot = (i18n.LOCALE_DIR / "hub.pot").read_text(encoding="utf-8")
    assert pot.strip() == i18n.pot_text().strip(), \
        "run: python -m hub.ui.i18n extract > assets/locale/hub.pot"
