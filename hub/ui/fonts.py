"""Fonts for the kiosk: one face of Debian's Noto Sans CJK per language, registered in Kivy.

Debian's ``fonts-noto-cjk`` ships OpenType *collections* (``NotoSansCJK-*.ttc``)
whose first face is the Japanese variant. Kivy's SDL2 text provider opens a font
file with ``TTF_OpenFont`` and so always gets face 0: Chinese text would be drawn
with Japanese glyph shapes (骨, 直, 令… differ). This module copies the wanted face
(Simplified Chinese, Korean) out of the collection into a standalone ``.otf`` in a
cache directory, once, and registers it with Kivy. The font itself is never
committed to the repository. Layout of a collection: OpenType spec, "Font
Collections" (TTC header, then one table directory per face; tables may be shared).

It owns nothing else: which face each language uses lives in :data:`FACES`.
"""

import array
import hashlib
import logging
import os
import struct
import sys
import tempfile
from pathlib import Path

__all__ = ["FACES", "NOTO_DIR", "extract_face", "face_names", "font_paths", "register_fonts",
           "font_name_for"]

log = logging.getLogger(__name__)

NOTO_DIR = Path(os.environ.get("HUB_NOTO_CJK_DIR", "/usr/share/fonts/opentype/noto"))
REGULAR = "NotoSansCJK-Regular.ttc"
BOLD = "NotoSansCJK-Bold.ttc"

#: The face (by its family name inside the collection) each UI language uses. English
#: uses the Simplified Chinese face too, so a Chinese name in an English greeting is
#: drawn correctly; Latin letters are the same in every face.
FACES = {"en": "Noto Sans CJK SC", "zh_CN": "Noto Sans CJK SC", "ko": "Noto Sans CJK KR"}


def _cache_dir() -> Path:
    base = os.environ.get("HUB_FONT_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "elder-hub", "fonts")
    return Path(base)


def _faces(data: bytes) -> list[int]:
    """Offsets of each face's table directory in a collection."""
    tag, _version, count = struct.unpack(">4sII", data[:12])
    if tag != b"ttcf":
        raise ValueError("not an OpenType font collection")
    return list(struct.unpack(f">{count}I", data[12:12 + 4 * count]))


def _tables(data: bytes, offset: int) -> tuple[bytes, list[tuple[bytes, int, int, int]]]:
    sfnt, count = struct.unpack(">4sH", data[offset:offset + 6])
    entries = [struct.unpack(">4sIII", data[offset + 12 + 16 * i:offset + 28 + 16 * i])
               for i in range(count)]
    return sfnt, entries


def _family(data: bytes, entries) -> str:
    """The face's full name (name ID 4, Windows platform, US English)."""
    for tag, _cs, off, _ln in entries:
        if tag != b"name":
            continue
        _fmt, count, strings = struct.unpack(">HHH", data[off:off + 6])
        for i in range(count):
            pid, _eid, lang, nid, length, soff = struct.unpack(
                ">6H", data[off + 6 + 12 * i:off + 18 + 12 * i])
            if nid == 4 and pid == 3 and lang == 0x409:
                start = off + strings + soff
                return data[start:start + length].decode("utf-16-be")
    return ""


def face_names(collection: Path) -> list[str]:
    """The full name of every face in a collection, in order."""
    data = collection.read_bytes()
    return [_family(data, _tables(data, off)[1]) for off in _faces(data)]


def _checksum(block) -> int:
    """OpenType table checksum: the sum of big-endian uint32 words, modulo 2**32."""
    words = array.array("I")
    if words.itemsize != 4:  # pragma: no cover - every Linux the hub runs on has 4
        words = array.array("L")
    pad = -len(block) % 4
    words.frombytes(bytes(block) + b"\0" * pad if pad else block)
    if sys.byteorder == "little":
        words.byteswap()
    return sum(words) & 0xFFFFFFFF


def extract_face(collection: Path, family: str, out: Path) -> Path:
    """Write the face whose full name starts with ``family`` as a standalone font file.

    The tables are copied unchanged (shared tables once per face), the table
    directory is rebuilt with new offsets, and ``head.checkSumAdjustment`` is
    recomputed as the spec asks.

    :raises LookupError: no face of that name in the collection.
    """
    data = collection.read_bytes()
    chosen = None
    for off in _faces(data):
        sfnt, entries = _tables(data, off)
        name = _family(data, entries)
        # "Noto Sans CJK SC" and "Noto Sans CJK SC Bold", but not "Noto Sans Mono CJK SC".
        if name == family or name.startswith(family + " "):
            chosen = (sfnt, entries)
            break
    if chosen is None:
        raise LookupError(f"no face {family!r} in {collection}")
    sfnt, entries = chosen
    entries = sorted(entries)
    count = len(entries)
    power = 1 << (count.bit_length() - 1)
    header = struct.pack(">4sHHHH", sfnt, count, power * 16, power.bit_length() - 1,
                         count * 16 - power * 16)
    offset = 12 + 16 * count
    directory, bodies = b"", []
    for tag, _cs, toff, length in entries:
        body = data[toff:toff + length]
        if tag == b"head":  # checkSumAdjustment is zero while checksums are computed
            body = body[:8] + b"\0\0\0\0" + body[12:]
        directory += struct.pack(">4sIII", tag, _checksum(body), offset, length)
        padded = body + b"\0" * (-length % 4)
        bodies.append((tag, offset, padded))
        offset += len(padded)
    font = bytearray(header + directory)
    for _t, _o, b in bodies:
        font += b
    del data
    for tag, toff, _b in bodies:
        if tag == b"head":
            adjust = (0xB1B0AFBA - _checksum(font)) & 0xFFFFFFFF
            font[toff + 8:toff + 12] = struct.pack(">I", adjust)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".part")
    with os.fdopen(fd, "wb") as fh:
        fh.write(font)
    os.chmod(tmp, 0o644)
    os.replace(tmp, out)  # atomic: a half-written font is never used
    return out


def _cached(collection: Path, family: str) -> Path:
    st = collection.stat()
    key = hashlib.sha1(f"{collection}|{st.st_size}|{st.st_mtime_ns}|{family}".encode())
    name = family.replace(" ", "") + "-" + key.hexdigest()[:10] + ".otf"
    for base in (_cache_dir(), Path(tempfile.gettempdir()) / "elder-hub-fonts"):
        out = base / name
        if out.exists():
            return out
        try:
            return extract_face(collection, family, out)
        except OSError as exc:
            log.warning("cannot write a font cache in %s (%s); trying another place", base, exc)
    raise OSError("no writable font cache directory")


def font_paths(language: str) -> tuple[str, str]:
    """(regular, bold) font files for a language; falls back to the whole collection."""
    family = FACES.get(language, FACES["en"])
    paths = []
    for fname, fam in ((REGULAR, family), (BOLD, family)):
        collection = NOTO_DIR / fname
        if not collection.exists():
            raise FileNotFoundError(
                f"{collection} is missing: install Debian's fonts-noto-cjk "
                "(scripts/install-system-deps.sh does it)")
        try:
            paths.append(str(_cached(collection, fam)))
        except (OSError, ValueError, LookupError) as exc:
            log.warning("using %s as it is (Japanese glyph shapes for Chinese): %s",
                        collection, exc)
            paths.append(str(collection))
    return paths[0], paths[1]


def font_name_for(language: str) -> str:
    """The Kivy font name registered for a language (see :func:`register_fonts`)."""
    return "Hub-" + FACES.get(language, FACES["en"]).split()[-1]


def register_fonts() -> dict[str, str]:
    """Register one Kivy font per face in use; returns language → font name."""
    from kivy.core.text import LabelBase

    names = {}
    done = set()
    for language in FACES:
        name = font_name_for(language)
        if name not in done:
            regular, bold = font_paths(language)
            LabelBase.register(name=name, fn_regular=regular, fn_bold=bold)
            done.add(name)
        names[language] = name
    return names
