"""A Simplified-Chinese face (not the collection's Japanese first face) for zh_CN."""

import struct

import pytest

from hub.ui import fonts

pytestmark = pytest.mark.skipif(not (fonts.NOTO_DIR / fonts.REGULAR).exists(),
                                reason="Debian's fonts-noto-cjk is not installed")


def full_name(path):
    data = path.read_bytes()
    assert data[:4] == b"OTTO"
    count = struct.unpack(">H", data[4:6])[0]
    entries = [struct.unpack(">4sIII", data[12 + 16 * i:28 + 16 * i]) for i in range(count)]
    return fonts._family(data, entries)


def test_collection_starts_with_the_japanese_face():
    assert fonts.face_names(fonts.NOTO_DIR / fonts.REGULAR)[0] == "Noto Sans CJK JP"


def test_extracted_face_is_the_simplified_chinese_one(tmp_path):
    out = fonts.extract_face(fonts.NOTO_DIR / fonts.REGULAR, "Noto Sans CJK SC",
                             tmp_path / "sc.otf")
    assert full_name(out) == "Noto Sans CJK SC"
    # The whole-font checksum, as the OpenType spec defines it, comes out right.
    assert fonts._checksum(out.read_bytes()) == 0xB1B0AFBA


def test_each_language_gets_its_face(tmp_path, monkeypatch):
    monkeypatch.setenv("HUB_FONT_CACHE", str(tmp_path))
    zh, zh_bold = fonts.font_paths("zh_CN")
    ko, _ko_bold = fonts.font_paths("ko")
    assert full_name(fonts.Path(zh)) == "Noto Sans CJK SC"
    assert full_name(fonts.Path(zh_bold)) == "Noto Sans CJK SC Bold"
    assert full_name(fonts.Path(ko)) == "Noto Sans CJK KR"
    assert fonts.font_paths("zh_CN") == (zh, zh_bold)  # cached: extracted once
