"""The accessibility check: walk the widgets on screen and test them against DESIGN.md's rules.

The rules and their numbers come from :mod:`hub.ui.theme` (the same constants the
layouts use). For the screen on top (and the caption bar, when shown) it checks:

* every button (anything with ButtonBehavior) and text field is at least
  ``MIN_TOUCH_PX`` × ``MIN_TOUCH_PX`` on the reference screen (scaled on bigger
  ones), and has a word on it;
* every text's font size: button labels ≥ ``MIN_BUTTON_LABEL_PX``, other text ≥
  ``MIN_BODY_PX`` (scaled);
* the WCAG contrast between each text's colour and the colour really painted behind
  it (the nearest ``bg_color`` up the tree) is ≥ ``MIN_CONTRAST``;
* no text is cut off: the rendered text (``texture_size``, drawn centred on the
  label) fits inside its label, inside the window, and does not overlap another text;
  no two buttons overlap;
* no more than ``MAX_CHOICES`` buttons, except on the screens listed in
  ``MANY_CHOICES_ALLOWED``;

and, added after the independent walk at 800×480 (issue 12):

* at a larger text size (``text_factor``), sentences and headings really are larger:
  body text ≥ ``MIN_BODY_PX`` × factor, a heading (Title, FitLabel) ≥ the title size ×
  factor — a heading that shrinks to fit (the Korean greeting at 28 px) is caught;
* the speech caption (an ``extra`` overlay) never lies over the screen below it;
* every character has a glyph in the label's font (no "tofu" boxes, as the docked
  keyboard's special keys had);
* no wrapped line starts with closing punctuation or ends with opening punctuation
  (CJK line-breaking rules, :mod:`hub.ui.linebreak`);
* keys of a keyboard are buttons like any other: ≥ 100 px, labels ≥ 40 px.

Transient states (the caption shown, the PIN lockout, the keyboard open) are scenes of
:mod:`hub.ui.stage`; ``tests/ui/test_accessibility.py`` runs them at the largest text
size with the caption on.

Hidden widgets (opacity 0 or no size) are skipped. Returns problems in words; an
empty list means the screen passes.
"""

from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.label import Label
from kivy.uix.textinput import TextInput

from hub.ui import theme
from hub.ui.linebreak import NO_END, NO_START

__all__ = ["audit_screen", "Problem", "missing_glyphs"]

TOLERANCE = 1.0  # px: rounding in layouts


class Problem(str):
    """One broken rule, in words."""


def _visible(w) -> bool:
    return w.opacity > 0.01 and w.width > 1 and w.height > 1


def _walk(w):
    if not _visible(w):
        return
    yield w
    for child in w.children:
        yield from _walk(child)


def _window_rect(w):
    x, y = w.to_window(w.x, w.y)
    return (x, y, x + w.width, y + w.height)


def _text_rect(label):
    """Where Kivy draws the label's text: its texture, centred on the widget."""
    x0, y0, x1, y1 = _window_rect(label)
    tw, th = label.texture_size
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return (cx - tw / 2, cy - th / 2, cx + tw / 2, cy + th / 2)


def _overlap(a, b) -> bool:
    return (min(a[2], b[2]) - max(a[0], b[0]) > TOLERANCE and
            min(a[3], b[3]) - max(a[1], b[1]) > TOLERANCE)


def _background(w):
    """The colour painted behind ``w``: its own bg_color, or the nearest ancestor's."""
    node = w
    while node is not None:
        bg = getattr(node, "bg_color", None)
        if bg is not None and len(bg) >= 3 and (len(bg) < 4 or bg[3] > 0.99):
            return tuple(bg)
        node = node.parent
    from kivy.core.window import Window

    return tuple(Window.clearcolor)


def _blend(fg, bg):
    a = fg[3] if len(fg) > 3 else 1.0
    return tuple(fg[i] * a + bg[i] * (1 - a) for i in range(3))


def _name(w) -> str:
    w = getattr(w, "__ref__", None) and w.__ref__() or w  # an ids entry is a weak proxy
    text = getattr(w, "text", "") or getattr(w, "hint_text", "")
    text = " ".join(str(text).split())
    return f"{type(w).__name__}({text[:40]!r})"


_GLYPHS: dict[tuple[str, str], bool] = {}


def _font_file(label) -> str | None:
    from kivy.core.text import LabelBase

    name = label.font_name
    files = getattr(LabelBase, "_fonts", {}).get(name)
    if files:
        return files[2 if label.bold and len(files) > 2 and files[2] else 0]
    return name if name and "." in name else None


def missing_glyphs(text: str, font_file: str) -> str:
    """The characters of ``text`` the font draws as its "missing glyph" box."""
    from PIL import ImageFont

    out = ""
    for ch in set(text):
        if ch.isspace() or ord(ch) < 32:
            continue
        key = (font_file, ch)
        if key not in _GLYPHS:
            try:
                font = ImageFont.truetype(font_file, 24)
                notdef = font.getmask("\U0010FFFD").getbbox(), \
                    bytes(font.getmask("\U0010FFFD"))
                mask = font.getmask(ch)
                _GLYPHS[key] = (mask.getbbox(), bytes(mask)) != notdef
            except OSError:
                _GLYPHS[key] = True
        if not _GLYPHS[key]:
            out += ch
    return out


def _lines(label) -> list[str]:
    """The lines Kivy really drew (after wrapping)."""
    core = getattr(label, "_label", None)
    lines = getattr(core, "_cached_lines", None) or []
    return ["".join(word.text for word in line.words) for line in lines]


def audit_screen(screen, *, extra=(), window_size=None, text_factor: float = 1.0
                 ) -> list[Problem]:
    """Check one screen (and ``extra`` overlay widgets) as it is drawn now.

    :param text_factor: the text size in use (``theme.TEXT_SIZES``): sentences and
        headings must be at least that much larger than the rule's minimum.
    """
    from kivy.core.window import Window

    W, H = window_size or Window.size
    s = theme.scale_for(W, H)
    problems: list[Problem] = []
    widgets = list(_walk(screen))
    for overlay in extra:
        widgets += list(_walk(overlay))
    choices = []
    texts = []
    screen_rect = _window_rect(screen)
    for overlay in extra:
        if _visible(overlay) and getattr(overlay, "text", "") and _overlap(
                _window_rect(overlay), screen_rect):
            problems.append(Problem(f"{_name(overlay)} lies over the screen: its space must "
                                    f"be reserved in the layout"))
    for w in widgets:
        # Nothing may stick out of the box that holds it (it would cover its neighbours).
        parent = w.parent
        if w is not screen and parent is not None and _visible(parent) and w not in extra:
            pr, wr = _window_rect(parent), _window_rect(w)
            if (wr[0] < pr[0] - TOLERANCE or wr[1] < pr[1] - TOLERANCE or
                    wr[2] > pr[2] + TOLERANCE or wr[3] > pr[3] + TOLERANCE):
                problems.append(Problem(
                    f"{_name(w)} sticks out of its {type(parent).__name__} "
                    f"({wr[0]:.0f},{wr[1]:.0f})–({wr[2]:.0f},{wr[3]:.0f}) outside "
                    f"({pr[0]:.0f},{pr[1]:.0f})–({pr[2]:.0f},{pr[3]:.0f})"))
        elif w is screen and (screen_rect[2] - screen_rect[0] < 1):
            pass
        is_button = isinstance(w, ButtonBehavior)
        if is_button or isinstance(w, TextInput):
            choices.append(w)
            min_px = theme.MIN_TOUCH_PX * s - TOLERANCE
            if w.width < min_px or w.height < min_px:
                problems.append(Problem(
                    f"{_name(w)} is {w.width:.0f}×{w.height:.0f} px; a touch target must be "
                    f"at least {theme.MIN_TOUCH_PX * s:.0f}×{theme.MIN_TOUCH_PX * s:.0f}"))
        if is_button:
            words = [c for c in _walk(w) if isinstance(c, Label) and c.text.strip()]
            if not words:
                problems.append(Problem(f"{_name(w)} has no word on it"))
        if isinstance(w, TextInput):
            fg = w.foreground_color if w.text else w.hint_text_color
            ratio = theme.contrast_ratio(_blend(fg, w.background_color), w.background_color)
            if ratio < theme.MIN_CONTRAST:
                problems.append(Problem(f"{_name(w)} text contrast {ratio:.1f}:1 < "
                                        f"{theme.MIN_CONTRAST}:1"))
            if w.font_size < theme.MIN_BODY_PX * s - 0.5:
                problems.append(Problem(f"{_name(w)} font {w.font_size:.0f} px < "
                                        f"{theme.MIN_BODY_PX * s:.0f}"))
        if not isinstance(w, Label) or not w.text.strip():
            continue
        w.texture_update()
        texts.append(w)
        # Font size. A larger text size must really make sentences and headings larger.
        in_button = isinstance(w, ButtonBehavior) or getattr(w, "is_button_label", False)
        need = (theme.MIN_BUTTON_LABEL_PX if in_button else theme.MIN_BODY_PX) * s
        if not in_button:
            need *= text_factor
        if w.font_size < need - 0.5:
            kind = "button label" if in_button else "text"
            problems.append(Problem(f"{_name(w)}: {kind} {w.font_size:.1f} px < {need:.0f} px"
                                    + ("" if text_factor == 1 else
                                       f" (text size ×{text_factor:g})")))
        heading = type(w).__name__ in ("Title", "FitLabel")
        if heading and w.font_size < theme.FONT["title"] * s * text_factor - 0.5:
            problems.append(Problem(
                f"{_name(w)}: heading {w.font_size:.1f} px, smaller than the title size "
                f"{theme.FONT['title'] * s * text_factor:.0f} px: wrap it, do not shrink it"))
        # Glyphs the font does not have (drawn as empty boxes).
        font_file = _font_file(w)
        if font_file:
            missing = missing_glyphs(w.text, font_file)
            if missing:
                problems.append(Problem(f"{_name(w)}: no glyph for {missing!r} in "
                                        f"{font_file.rsplit('/', 1)[-1]} (drawn as a box)"))
        # CJK line breaking: no line may start with "。" or end with "「".
        lines = _lines(w)
        for i, line in enumerate(lines):
            if i and line[:1] in NO_START:
                problems.append(Problem(f"{_name(w)}: line {i + 1} starts with {line[0]!r}"))
            if i < len(lines) - 1 and line.rstrip()[-1:] in NO_END:
                problems.append(Problem(f"{_name(w)}: line {i + 1} ends with "
                                        f"{line.rstrip()[-1]!r}"))
        # Contrast against what is really behind it.
        bg = _background(w if not isinstance(w, ButtonBehavior) else w)
        fg = w.disabled_color if w.disabled else w.color
        ratio = theme.contrast_ratio(_blend(fg, bg), bg)
        if ratio < theme.MIN_CONTRAST - 0.005:
            problems.append(Problem(f"{_name(w)}: contrast {ratio:.2f}:1 < "
                                    f"{theme.MIN_CONTRAST}:1"))
        # Cut off: the text must fit its label and the window.
        tw, th = w.texture_size
        if tw > w.width + TOLERANCE or th > w.height + TOLERANCE:
            problems.append(Problem(f"{_name(w)}: text {tw:.0f}×{th:.0f} px does not fit its "
                                    f"{w.width:.0f}×{w.height:.0f} px label"))
        x0, y0, x1, y1 = _text_rect(w)
        if x0 < -TOLERANCE or y0 < -TOLERANCE or x1 > W + TOLERANCE or y1 > H + TOLERANCE:
            problems.append(Problem(f"{_name(w)}: text goes off the screen "
                                    f"({x0:.0f},{y0:.0f})–({x1:.0f},{y1:.0f})"))
    # Texts drawn over texts, buttons over buttons.
    rects = [(t, _text_rect(t)) for t in texts]
    for i, (a, ra) in enumerate(rects):
        for b, rb in rects[i + 1:]:
            if _overlap(ra, rb):
                problems.append(Problem(f"{_name(a)} and {_name(b)} are drawn over each other"))
    boxes = [(c, _window_rect(c)) for c in choices]
    for i, (a, ra) in enumerate(boxes):
        for b, rb in boxes[i + 1:]:
            if _overlap(ra, rb) and a not in b.walk() and b not in a.walk():
                problems.append(Problem(f"buttons {_name(a)} and {_name(b)} overlap"))
    if len(choices) > theme.MAX_CHOICES and screen.name not in theme.MANY_CHOICES_ALLOWED:
        problems.append(Problem(f"{len(choices)} choices on screen {screen.name!r}; "
                                f"at most {theme.MAX_CHOICES}"))
    return problems
