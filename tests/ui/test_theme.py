"""The theme holds DESIGN.md's rules, and every colour pair it offers keeps 7:1."""

import pytest

from hub.ui import theme


def test_wcag_contrast_known_values():
    assert theme.contrast_ratio("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert theme.contrast_ratio("#777777", "#777777") == pytest.approx(1.0)
    # WCAG's own example: #767676 on white is just above 4.5:1.
    assert theme.contrast_ratio("#767676", "#FFFFFF") == pytest.approx(4.54, abs=0.01)


def test_rules_are_the_design_numbers():
    assert theme.DESIGN_SIZE == (800, 480)
    assert theme.MIN_TOUCH_PX == 100 and theme.MAX_CHOICES == 6
    assert theme.MIN_BODY_PX == 28 and theme.MIN_BUTTON_LABEL_PX == 40
    assert theme.MIN_CONTRAST == 7.0


@pytest.mark.parametrize("style", sorted(theme.BUTTON_STYLES))
def test_every_button_style_has_aaa_contrast(style):
    bg, fg = theme.BUTTON_STYLES[style]
    assert theme.contrast_ratio(bg, fg) >= theme.MIN_CONTRAST


@pytest.mark.parametrize("status", sorted(theme.STATUS_COLOURS))
def test_every_status_colour_has_aaa_contrast(status):
    bg, fg = theme.STATUS_COLOURS[status]
    assert theme.contrast_ratio(bg, fg) >= theme.MIN_CONTRAST


def test_text_on_the_screens_backgrounds_has_aaa_contrast():
    c = theme.COLOURS
    for bg, fg in ((c["background"], c["text"]), (c["card"], c["text"]),
                   (c["sos"], c["sos_text"]), (c["caption"], c["caption_text"]),
                   (c["notice"], c["text"]), (c["error"], c["text"]), (c["card"], c["hint"])):
        assert theme.contrast_ratio(bg, fg) >= theme.MIN_CONTRAST, (bg, fg)


def test_font_sizes_keep_the_minimums_and_text_sizes_grow():
    assert min(theme.FONT.values()) >= theme.MIN_BODY_PX
    assert theme.FONT["button"] >= theme.MIN_BUTTON_LABEL_PX
    steps = list(theme.TEXT_SIZES.values())
    assert list(theme.TEXT_SIZES) == ["normal", "large", "largest"]
    assert steps == sorted(steps) and steps[0] == 1.0


def test_scale_follows_the_smaller_side():
    assert theme.scale_for(800, 480) == 1.0
    assert theme.scale_for(1280, 800) == pytest.approx(1.6)
    assert theme.scale_for(640, 400) == 1.0  # never smaller than the rules
