"""The kiosk's look, and the elder-friendly rules it must keep, as named constants.

DESIGN.md's measurable rules live here once: the layouts (``.kv`` files) take their
sizes and colours from these names through the app, and the accessibility check
(:mod:`hub.ui.audit`, run by ``tests/ui/test_accessibility.py``) reads the very same
constants — so a rule changes in one place. No Kivy import: this module is also
read by tests and tools that never open a window.

Sizes are pixels on the reference screen (the official 7" display, 800×480); on a
larger screen everything scales by :func:`scale_for`.
"""

__all__ = [
    "DESIGN_SIZE", "MIN_TOUCH_PX", "MAX_CHOICES", "MIN_BODY_PX", "MIN_BUTTON_LABEL_PX",
    "MIN_CONTRAST", "TEXT_SIZES", "FONT", "COLOURS", "STATUS_COLOURS", "BUTTON_STYLES",
    "MANY_CHOICES_ALLOWED", "GROWS", "rgba", "relative_luminance", "contrast_ratio", "scale_for",
]

# -- the rules (DESIGN.md, "Elder-friendly rules (measurable)") --------------------

#: The reference screen: Raspberry Pi official 7" display.
DESIGN_SIZE = (800, 480)
#: A touch target is at least ~20 mm: 100 px on the reference screen.
MIN_TOUCH_PX = 100
#: No more than this many choices (buttons) on one screen.
MAX_CHOICES = 6
#: Body text at least this many pixels high (font size), on the reference screen.
MIN_BODY_PX = 28
#: Button labels at least this many pixels.
MIN_BUTTON_LABEL_PX = 40
#: Text/background contrast (WCAG 2 relative luminance ratio; 7:1 is level AAA).
MIN_CONTRAST = 7.0

#: Screens for the *family* (not the elder) that may show more than MAX_CHOICES
#: buttons, and why. Every other rule still applies to them.
MANY_CHOICES_ALLOWED = {
    "pin": "a number keypad (ten digits, delete, cancel) for the family's PIN",
    "care_reminder_days": "a reminder's seven weekday switches, save and back, for the family",
    "text_entry": "the family's keyboard: eight letter keys a page, delete, space, next page, "
                  "the way of typing, back and save",
}

# -- text ------------------------------------------------------------------------------

#: The three text sizes a family can choose in Setup: a factor on every font size.
TEXT_SIZES = {"normal": 1.0, "large": 1.12, "largest": 1.25}

#: Font sizes in px on the reference screen at text size "normal". Every value used
#: for body text is ≥ MIN_BODY_PX and every button label ≥ MIN_BUTTON_LABEL_PX.
FONT = {
    "body": 28,        # sentences, status lines, captions
    "button": 40,      # every button label
    "title": 40,       # a screen's title
    "number": 60,      # a health value
    "clock": 88,       # the clock on Home
    "sos": 56,         # sentences on the red SOS screens
    "countdown": 200,  # the SOS countdown number
}

#: The font roles a larger text size grows (sentences and titles).
#: Button labels (40 px), the SOS words (56 px), numbers, the clock and the countdown are
#: already large and keep their size; no role ever gets smaller (the audit checks it).
GROWS = ("body", "title")

# -- colours ---------------------------------------------------------------------------


def rgba(hex_colour: str, alpha: float = 1.0) -> tuple[float, float, float, float]:
    """``"#A50000"`` → (r, g, b, a) in 0…1, as Kivy wants colours."""
    h = hex_colour.lstrip("#")
    return (int(h[0:2], 16) / 255, int(h[2:4], 16) / 255, int(h[4:6], 16) / 255, alpha)


#: Every colour the kiosk paints with. Text colours are near-black on light
#: surfaces and white on dark ones; each pair used is checked to be ≥ MIN_CONTRAST.
COLOURS = {
    "background": "#FAF7F0",   # warm white: less glare than pure white
    "text": "#141414",
    "text_on_dark": "#FFFFFF",
    "card": "#FFFFFF",
    "card_border": "#5A5A5A",
    "hint": "#4A4A4A",         # example text in an empty text field
    "sos": "#A00000",          # the red of Help and of the SOS screens
    "sos_text": "#FFFFFF",
    "ok": "#1B5E20",           # I'm OK / Yes
    "health": "#0D47A1",
    "messages": "#4A148C",
    "setup": "#37474F",
    "neutral": "#E2E2E2",      # Back, Read aloud, Next
    "caption": "#141414",      # what the hub is saying, shown as a caption
    "caption_text": "#FFFFFF",
    "notice": "#FFF3C4",       # a short note on Home ("Thank you…")
    "error": "#FDE2E2",
    "pressed_border": "#FFC400",
    "chart_band": "#CDEBCF",   # the normal range on a chart
    "chart_line": "#0D47A1",
    "chart_line_2": "#6A1B9A",
    "chart_axis": "#5A5A5A",
    "dim": "#000000",
}

#: Colour + word for a health reading's status: the word is always shown too.
STATUS_COLOURS = {
    "normal": ("#CDEBCF", "#141414"),
    "low": ("#CFE3FA", "#141414"),
    "high": ("#FFE08A", "#141414"),
    "very_high": ("#A00000", "#FFFFFF"),
    "very_low": ("#A00000", "#FFFFFF"),
    "unknown": ("#E2E2E2", "#141414"),
}

#: Button styles: (background, label colour).
BUTTON_STYLES = {
    "sos": (COLOURS["sos"], COLOURS["sos_text"]),
    "ok": (COLOURS["ok"], COLOURS["text_on_dark"]),
    "health": (COLOURS["health"], COLOURS["text_on_dark"]),
    "messages": (COLOURS["messages"], COLOURS["text_on_dark"]),
    "setup": (COLOURS["setup"], COLOURS["text_on_dark"]),
    "neutral": (COLOURS["neutral"], COLOURS["text"]),
    "card": (COLOURS["card"], COLOURS["text"]),
    "cancel": (COLOURS["card"], COLOURS["text"]),   # white CANCEL on the red screen
}

#: Screen dimming at night: a black veil this opaque (touches still work through it).
DIM_ALPHA = 0.6
#: After a touch at night the screen stays bright this many seconds.
WAKE_SECONDS = 120

# -- WCAG 2 contrast ------------------------------------------------------------------


def relative_luminance(colour) -> float:
    """WCAG 2.x relative luminance of an sRGB colour (hex text or an rgb(a) tuple in 0…1)."""
    if isinstance(colour, str):
        colour = rgba(colour)

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(float(c)) for c in colour[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a, b) -> float:
    """WCAG contrast ratio (1…21) between two colours."""
    la, lb = relative_luminance(a), relative_luminance(b)
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)


def scale_for(width: float, height: float) -> float:
    """How much bigger than the reference screen a window is (never below 1)."""
    return max(1.0, min(width / DESIGN_SIZE[0], height / DESIGN_SIZE[1]))
