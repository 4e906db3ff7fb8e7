"""``python -m hub.ui.screenshots OUTDIR``: every screen in every language, and a contact sheet.

Starts the kiosk without a core (see :mod:`hub.ui.stage`) in a window of the given
size — on a virtual screen (Xvfb) when there is no display — shows each scene in each
language, writes ``OUTDIR/<scene>-<lang>.png`` and ``OUTDIR/contact-sheet.png``
(Pillow), and prints how long it took. ``--audit`` also runs the accessibility check
on every picture and exits 1 if a rule is broken.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

__all__ = ["main", "contact_sheet"]


def contact_sheet(pictures: list[tuple[str, str, Path]], out: Path, *, columns: int,
                  thumb_scale: float = 0.5, font_path: str | None = None) -> Path:
    """One PNG with all pictures as thumbnails, each captioned ``scene · lang``."""
    from PIL import Image, ImageDraw, ImageFont

    thumbs = []
    for scene, lang, path in pictures:
        img = Image.open(path).convert("RGB")
        img = img.resize((int(img.width * thumb_scale), int(img.height * thumb_scale)),
                         Image.LANCZOS)
        thumbs.append((f"{scene} · {lang}", img))
    tw = max(t.width for _c, t in thumbs)
    th = max(t.height for _c, t in thumbs)
    cap = 30
    rows = -(-len(thumbs) // columns)
    pad = 10
    sheet = Image.new("RGB", (columns * (tw + pad) + pad, rows * (th + cap + pad) + pad),
                      (60, 60, 60))
    draw = ImageDraw.Draw(sheet)
    try:
        font = ImageFont.truetype(font_path, 20) if font_path else ImageFont.load_default()
    except OSError:
        font = ImageFont.load_default()
    for i, (caption, img) in enumerate(thumbs):
        r, c = divmod(i, columns)
        x, y = pad + c * (tw + pad), pad + r * (th + cap + pad)
        draw.text((x + 2, y + 2), caption, fill=(255, 255, 255), font=font)
        sheet.paste(img, (x, y + cap))
    sheet.save(out, optimize=True)
    return out


def caption_text(app, lang: str) -> str:
    """A long caption, as when the hub reads the screen aloud (at least three lines)."""
    from hub.ui.i18n import _

    said = app.sm.current_screen.spoken_text() or ""
    filler = _("Calling for help.") + " " + _("Help is being arranged.")
    return (said + " " + filler + " " + filler).strip()


def _parse(argv):
    from hub.ui.i18n import LANGUAGES
    from hub.ui.stage import SCENES

    p = argparse.ArgumentParser(prog="python -m hub.ui.screenshots", description=__doc__)
    p.add_argument("outdir", type=Path)
    p.add_argument("--lang", default=",".join(LANGUAGES), help="languages, comma separated")
    p.add_argument("--size", default="800x480", help="window size WIDTHxHEIGHT")
    p.add_argument("--text-size", default="normal", choices=("normal", "large", "largest"))
    p.add_argument("--scenes", default=",".join(SCENES), help="scenes, comma separated")
    p.add_argument("--caption", action="store_true",
                   help="show the speech caption (two lines of what the screen says) too")
    p.add_argument("--audit", action="store_true", help="check the accessibility rules too")
    p.add_argument("--no-sheet", action="store_true", help="skip the contact sheet")
    args = p.parse_args(argv)
    args.langs = [x for x in args.lang.split(",") if x]
    args.scenes = [x for x in args.scenes.split(",") if x]
    bad = [x for x in args.langs if x not in LANGUAGES] + [x for x in args.scenes
                                                           if x not in SCENES]
    if bad:
        p.error(f"unknown language or scene: {', '.join(bad)}")
    args.width, args.height = (int(v) for v in args.size.lower().split("x"))
    return args


def _run(args) -> int:
    from hub.config import config_from_dict
    from hub.ui.app import configure_kivy

    # absolute: the config wants an absolute state_dir (make screenshots passes build/…)
    cfg = config_from_dict({"hub": {"state_dir": str(args.outdir.resolve() / ".state")}},
                           source="stage")
    configure_kivy(cfg, fullscreen=False, size=(args.width, args.height))

    from kivy.clock import Clock
    from kivy.core.window import Window

    from hub.ui import fonts
    from hub.ui.app import KioskApp
    from hub.ui.audit import audit_screen
    from hub.ui.stage import stage
    args.outdir.mkdir(parents=True, exist_ok=True)
    app = KioskApp(cfg, connect=False, state_path=args.outdir / ".state" / "kiosk.json")
    jobs = [(scene, lang) for lang in args.langs for scene in args.scenes]
    pictures, problems = [], {}
    started = time.monotonic()

    def step(gen):
        try:
            delay = next(gen)
        except StopIteration:
            app.stop()
            return
        Clock.schedule_once(lambda _dt: step(gen), delay)

    def work():
        Window.size = (args.width, args.height)
        yield 0.2
        app.set_text_size(args.text_size)
        for scene, lang in jobs:
            shown = stage(app, scene, lang)
            if args.caption:
                app.show_caption(caption_text(app, lang))
            yield 0.05  # let layouts settle (two frames)
            yield 0.05
            if app.sm.current != shown:
                problems[f"{scene}-{lang}"] = [f"expected screen {shown}, got {app.sm.current}"]
            if app.sm.current == "setup_text_entry":
                yield 0.05  # the keyboard's pages are built on the first frame
            path = args.outdir / f"{scene}-{lang}.png"
            app.root.export_to_png(str(path))
            pictures.append((scene, lang, path))
            if args.audit:
                found = audit_screen(app.sm.current_screen, extra=[app.root.ids.caption],
                                     text_factor=app.text_factor)
                if found:
                    problems[f"{scene}-{lang}"] = list(found)

    app.bind(on_start=lambda *_a: step(work()))
    app.run()
    took = time.monotonic() - started
    if pictures and not args.no_sheet:
        sc_font = fonts.font_paths("zh_CN")[0]
        columns = len(args.langs) * (2 if len(args.langs) <= 3 else 1)
        contact_sheet(pictures, args.outdir / "contact-sheet.png", columns=columns,
                      font_path=sc_font)
    print(f"{len(pictures)} screenshots in {args.outdir} ({took:.1f} s)"
          + ("" if args.no_sheet else f"; contact sheet {args.outdir / 'contact-sheet.png'}"))
    if args.audit:
        (args.outdir / "audit.json").write_text(json.dumps(problems, indent=1,
                                                           ensure_ascii=False))
        for key, found in problems.items():
            for p in found:
                print(f"{key}: {p}")
        print("accessibility: " + ("all rules kept" if not problems else
                                   f"{sum(map(len, problems.values()))} problems"))
        return 1 if problems else 0
    return 0


def main(argv=None) -> int:
    """Command line entry point."""
    args = _parse(sys.argv[1:] if argv is None else argv)
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:  # Kivy's provider probing is noise here
        handler.addFilter(lambda r: not r.name.startswith("kivy") or r.levelno >= logging.ERROR
                          and "Cutbuffer" not in r.getMessage() and " - " not in r.getMessage())
    from hub.ui.headless import kivy_environment, virtual_display

    kivy_environment(os.environ.get("KIVY_HOME"))
    if os.environ.get("DISPLAY"):
        return _run(args)
    with virtual_display(max(1600, args.width), max(1000, args.height)):
        return _run(args)


if __name__ == "__main__":
    sys.exit(main())
