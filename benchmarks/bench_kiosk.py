"""Kiosk benchmarks: cold start to the first interactive frame, touch → visible response, RSS.

Runs a real core (``python -m hub core``, silent speech) and the real kiosk app in a
800×480 window — on Xvfb when there is no display — and prints the figures and the
machine. Each start is a fresh ``python`` process, measured from just before it is
spawned to the first frame drawn with Home on screen and the core connected (times
are CLOCK_MONOTONIC, shared by all processes on Linux).

Touch latency is from the touch (through Kivy's window input path, as in the tests)
to the first frame *flipped* that shows the result:

* My health — a local screen change;

(The frame counted is the first one flipped while the result is on the widgets and
their text textures are rendered; at 60 frames a second that is within one frame.)
* I'm OK — a check-in written to the core's database (fsync) and a thank-you shown;
* Help — an SOS press made durable by the core and the countdown screen shown.

Usage: ``python benchmarks/bench_kiosk.py [--starts N] [--taps N] [--gl all] [--compare TREE]``
and ``--breakdown [--rounds N] [--langs en,zh_CN,ko]``: RSS by stage (Python, the CLI,
Kivy, the SDL window and GL context, fonts and layouts, each screen) and by mapping
(``/proc/self/smaps``: libLLVM, the Mesa driver, anonymous heap, font files …).
Every figure is printed with the 1-minute load average it was measured under.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The source tree the kiosk runs from (``--compare`` points a variant at another one).
TREE = Path(os.environ.get("HUB_BENCH_TREE") or ROOT)
sys.path.insert(0, str(TREE))

#: Mesa settings compared by ``--gl`` (the Pi 4 uses its V3D GPU driver: see BENCHMARKS.md).
GL_VARIANTS = {
    "llvmpipe": {},
    "llvmpipe LP_NUM_THREADS=0": {"LP_NUM_THREADS": "0"},
    "llvmpipe LP_NUM_THREADS=1": {"LP_NUM_THREADS": "1"},
    "softpipe": {"GALLIUM_DRIVER": "softpipe"},
    "softpipe DRAW_USE_LLVM=0": {"GALLIUM_DRIVER": "softpipe", "DRAW_USE_LLVM": "0"},
}


def load_average() -> str:
    """The 1-minute load average, as `uptime` shows it (recorded next to every figure)."""
    return Path("/proc/loadavg").read_text().split()[0]


def _rss_kib() -> int:
    line = next(x for x in Path("/proc/self/status").read_text().splitlines()
                if x.startswith("VmRSS:"))
    return int(line.split()[1])


# -- where the memory goes: /proc/PID/smaps by mapping ------------------------------------

#: smaps mapping → part, first match wins (a path substring, or a special name).
PARTS = (
    ("libLLVM", "libLLVM (llvmpipe's JIT compiler)"),
    ("_dri.so", "Mesa GL driver (*_dri.so)"),
    ("libgallium", "Mesa GL driver (*_dri.so)"),
    ("libglapi", "GL dispatch (glvnd, libGLX_mesa, libglapi)"),
    ("libGLX", "GL dispatch (glvnd, libGLX_mesa, libglapi)"),
    ("libGL.", "GL dispatch (glvnd, libGLX_mesa, libglapi)"),
    ("libGLdispatch", "GL dispatch (glvnd, libGLX_mesa, libglapi)"),
    ("libEGL", "GL dispatch (glvnd, libGLX_mesa, libglapi)"),
    ("libSDL2", "SDL2 (+ _ttf, _image, _mixer) from Kivy's wheel"),
    ("/kivy/", "Kivy's compiled modules"),
    ("kivy.libs", "libraries bundled in Kivy's wheel"),
    (".ttf", "font files (mapped)"),
    (".otf", "font files (mapped)"),
    (".ttc", "font files (mapped)"),
    ("site-packages", "other extension modules"),
    ("python3", "Python (interpreter, stdlib .so)"),
    (".so", "other shared libraries (libc, X11, libdrm, …)"),
)
ANON = "anonymous memory (Python and C heaps, GL buffers, JIT code)"


def smaps_parts(pid="self") -> dict:
    """RSS (KiB) of one process by part, from /proc/PID/smaps; "rss" is the total and
    "private" the part no other process shares."""
    out: dict = {"rss": 0, "private": 0}
    part = ANON
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        first = line.split(None, 1)[0]
        if "-" in first and not first.endswith(":"):  # a mapping's header line
            fields = line.split(None, 5)
            path = fields[5].strip() if len(fields) > 5 else ""
            if not path or path.startswith("[heap]") or path.startswith("[anon"):
                part = ANON
            elif path.startswith("["):
                part = "stack and kernel pages ([stack], [vvar], …)"
            else:
                part = next((name for key, name in PARTS if key in path), "other files")
        elif first == "Rss:":
            kib = int(line.split()[1])
            out[part] = out.get(part, 0) + kib
            out["rss"] += kib
        elif first in ("Private_Clean:", "Private_Dirty:"):
            out["private"] += int(line.split()[1])
    return out


def breakdown_child(config_path: str, out_path: str, langs: list[str]) -> None:
    """One kiosk process (staged, no core) walked through its life; smaps at each stage,
    written as JSON lines to ``out_path``."""
    import gc

    t_start = time.monotonic()
    marks = []

    def mark(stage: str):
        gc.collect()
        parts = smaps_parts()
        parts["stage"] = stage
        parts["t"] = round(time.monotonic() - t_start, 3)
        marks.append(parts)

    mark("Python (the interpreter and the benchmark's imports)")
    import hub.cli  # noqa: F401  -- `hub kiosk` imports the CLI first

    mark("+ the hub command line (hub.cli and its sub-commands)")
    from hub.config import load_config
    from hub.ui.app import configure_kivy

    cfg = load_config(config_path)
    configure_kivy(cfg, fullscreen=False, size=(800, 480))
    import kivy.app  # noqa: F401
    import kivy.uix.screenmanager  # noqa: F401

    from hub.ui.app import KioskApp, _give_memory_back

    mark("+ Kivy and hub.ui imported (no window)")
    from kivy.core.window import Window

    mark("+ SDL window and GL context")
    app = KioskApp(cfg, connect=False, state_path=Path(out_path).with_suffix(".state"))
    from hub.ui.stage import stage

    scenes = ["health", "health_detail", "messages", "message", "setup", "setup_more",
              "setup_devices", "setup_wifi", "diagnostics", "pin", "keyboard",
              "care_services"]

    def work():
        if hasattr(app, "_after_first_frame"):  # (an older tree under --compare has not)
            Window.unbind(on_flip=app._after_first_frame)  # measured on its own below
        Window.size = (800, 480)
        yield 0.3
        mark("+ fonts registered, safety-path layouts loaded and built (first frame)")
        if hasattr(app, "load_all_screens"):
            app.load_all_screens()
        mark("+ the other screens' code and layouts (loaded after the first frame)")
        stage(app, "home", "en")
        yield 0.1
        yield 0.1
        mark("Home on screen (en), staged content")
        for lang in langs:
            for scene in scenes:
                try:
                    stage(app, scene, lang)
                except Exception as exc:  # a scene this build does not have
                    print(f"skip {scene}: {exc}", file=sys.stderr)
                    continue
                yield 0.1
                yield 0.05
                mark(f"{scene} ({lang})")
            stage(app, "home", lang)
            app.release_screens()
            yield 0.7
            _give_memory_back()
            yield 0.1
            mark(f"Home ({lang}) after the screens were released")
        stage(app, "home", "en")
        app.release_screens()
        yield 0.7
        _give_memory_back()
        yield 0.1
        mark("Home (en) again, at the end")
        with open(out_path, "w", encoding="utf-8") as fh:
            for m in marks:
                fh.write(json.dumps(m) + "\n")
        app.stop()

    _run_steps(app, work)


def _run_steps(app, script):
    """Run the app; ``script()`` is a generator that yields the seconds to wait between
    its steps, driven by Kivy's clock from the first frame on."""
    from kivy.clock import Clock

    def step(gen):
        try:
            delay = next(gen)
        except StopIteration:
            return
        Clock.schedule_once(lambda _dt: step(gen), delay)

    app.bind(on_start=lambda *_a: step(script()))
    app.run()


# -- the kiosk process ------------------------------------------------------------------

def child(config_path: str, taps: int) -> None:
    """Run the kiosk, measure, print one JSON line, exit."""
    phases = {"interpreter": time.monotonic()}  # what the first frame waited for, in order
    import hub.cli  # noqa: F401  -- `hub kiosk` (the systemd unit) imports the CLI first
    from hub.config import load_config

    phases["hub command line"] = time.monotonic()
    from hub.ui.app import configure_kivy  # (this imports Kivy)

    cfg = load_config(config_path)
    configure_kivy(cfg, fullscreen=False, size=(800, 480))

    from hub.ui.app import KioskApp

    phases["Kivy and the app imported"] = time.monotonic()
    app = KioskApp(cfg)
    result: dict = {"taps": {}, "phases": phases}

    build = app.build

    def timed_build():
        # What App.build() does first, timed apart: the core link starts, then importing
        # Kivy's window module opens the SDL window and its GL context.
        phases["App.run() until build()"] = time.monotonic()
        if app.link is None:
            app.connect_to(cfg.socket_path)
        from kivy.core.window import Window  # noqa: F401

        phases["SDL window and GL context"] = time.monotonic()
        return build()

    app.build = timed_build

    def started(*_a):
        phases["build (fonts, layouts, Starting and Home)"] = time.monotonic()
        from kivy.core.window import Window

        Window.bind(on_flip=on_flip)

    def connected(*_a):
        phases.setdefault("core connected", time.monotonic())

    app.bind(on_start=started, connected=connected)
    watch: dict = {"cond": None, "at": None}

    def on_flip(*_a):
        # The first frame put on screen while the result is there: that is "visible".
        if watch["cond"] is not None and watch["at"] is None and watch["cond"]():
            watch["at"] = time.monotonic()

    def drawn(label) -> bool:
        """The label's texture shows its current text (no re-render pending)."""
        return not label._trigger_texture.is_triggered

    def frame_after(cond, timeout=10.0):
        """Yield until a frame is flipped while cond() holds; that flip's time."""
        watch["cond"], watch["at"] = cond, None
        end = time.monotonic() + timeout
        while watch["at"] is None:
            if time.monotonic() > end:
                raise TimeoutError("the kiosk did not respond")
            yield 0.002
        watch["cond"] = None
        return watch["at"]

    def tap(widget):
        from kivy.tests.common import UnitTestTouch  # not before the first frame

        x, y = widget.to_window(*widget.center)
        t = UnitTestTouch(x, y)
        t0 = time.monotonic()
        t.touch_down()
        t.touch_up()
        return t0

    def script():
        ready = yield from frame_after(lambda: app.root is not None and app.connected
                                       and app.sm.current == "home", 60)
        result["first_frame"] = ready
        phases["first frame with Home"] = ready
        result["rss_home"] = _rss_kib()  # RSS with Home on screen
        home = app.screen("home")
        for _ in range(taps):
            yield 0.7  # beyond the buttons' double-touch guard
            t0 = tap(home.ids.health)
            t1 = yield from frame_after(lambda: app.sm.current == "health")
            result["taps"].setdefault("my_health", []).append(t1 - t0)
            app.home()
            yield 0.1
            app.notice = ""
            yield 0.7
            status = home.ids.status
            t0 = tap(home.ids.ok)
            t1 = yield from frame_after(lambda: "Thank you" in status.text and drawn(status))
            result["taps"].setdefault("im_ok", []).append(t1 - t0)
            yield 0.7
            t0 = tap(home.ids.help)
            number = app.screen("sos_countdown").ids.number
            t1 = yield from frame_after(lambda: app.sm.current == "sos_countdown"
                                        and number.text not in ("", "0") and drawn(number))
            result["taps"].setdefault("help", []).append(t1 - t0)
            app.cancel_sos()
            yield from frame_after(lambda: app.sm.current == "home")
        status = Path("/proc/self/status").read_text()
        for key in ("VmRSS", "VmHWM"):
            line = next(x for x in status.splitlines() if x.startswith(key + ":"))
            result[key] = int(line.split()[1])  # kB
        from kivy.graphics.opengl import GL_RENDERER, glGetString

        result["gl"] = glGetString(GL_RENDERER).decode(errors="replace")
        print("BENCH " + json.dumps(result), flush=True)
        app.stop()

    _run_steps(app, script)


# -- the driver ---------------------------------------------------------------------------

def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("model name", "Model")):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.1f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (f"{cpu}, {os.cpu_count()} CPUs{mem}; {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}")


def _pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def _ms(values) -> str:
    values = sorted(v * 1000 for v in values)
    return (f"median {statistics.median(values):6.1f} ms, p95 {_pct(values, .95):6.1f} ms, "
            f"p99 {_pct(values, .99):6.1f} ms, max {values[-1]:6.1f} ms (n={len(values)})")


def _start_env(work: Path, lang: str = "en") -> tuple[dict, Path]:
    cfg = work / "hub.toml"
    state = work / "state"
    cfg.write_text(f'[hub]\nstate_dir = "{state}"\nlanguage = "{lang}"\n'
                   '[audio]\nspeech_engine = "silent"\n'
                   '[sos]\ncountdown = 10\n[kiosk]\nfullscreen = false\n')
    from hub.ui.headless import kivy_environment

    env = {**os.environ, **kivy_environment(str(work / "kivy")), "PYTHONPATH": str(TREE),
           "HUB_FONT_CACHE": str(work / "fonts")}
    return env, cfg


def _variants(gl: list[str], compare: str | None) -> list[tuple[str, dict]]:
    """(name, extra environment) of each variant, run in turn (A, B, A, B …)."""
    out = [(name, GL_VARIANTS[name]) for name in gl]
    if compare:
        out = [(name + " (this tree)", env) for name, env in out] + [
            (name + f" ({compare})", {**env, "HUB_BENCH_TREE": compare,
                                      "PYTHONPATH": compare}) for name, env in out]
    return out


def _summary(values, unit="ms") -> str:
    if unit == "ms":
        return _ms(values)
    values = sorted(values)
    return (f"median {statistics.median(values) / 1024:6.1f} MiB, p99 {_pct(values, .99) / 1024:6.1f}"
            f" MiB, max {values[-1] / 1024:6.1f} MiB (n={len(values)})")


def run(starts: int, taps: int, gl: list[str], compare: str | None, lang: str) -> int:
    from hub.api import ApiClient

    work = Path(tempfile.mkdtemp(prefix="bench-kiosk-"))
    env, cfg = _start_env(work, lang)
    state = work / "state"
    core_log = open(work / "core.log", "wb")
    core = subprocess.Popen([sys.executable, "-m", "hub", "--config", str(cfg), "core"],
                            env=env, stdout=core_log, stderr=core_log, cwd=str(ROOT))
    variants = _variants(gl, compare)
    try:
        end = time.monotonic() + 20
        while True:
            try:
                ApiClient(state / "hub.sock", timeout=1).connect().close()
                break
            except Exception:
                if time.monotonic() > end or core.poll() is not None:
                    print((work / "core.log").read_text(), file=sys.stderr)
                    return 1
                time.sleep(0.05)

        def one_start(extra: dict, tap_count: int):
            run_env = {**env, **extra}
            load = load_average()
            t0 = time.monotonic()
            out = subprocess.run([sys.executable, __file__, "--child", str(cfg), "--taps",
                                  str(tap_count)],
                                 env=run_env, capture_output=True, text=True, timeout=180,
                                 cwd=str(ROOT))
            line = next((x for x in out.stdout.splitlines() if x.startswith("BENCH ")), None)
            if line is None:
                print(out.stdout[-2000:], out.stderr[-4000:], file=sys.stderr)
                raise RuntimeError("the kiosk did not report")
            res = json.loads(line[6:])
            res["start"] = res["first_frame"] - t0
            res["spawned"] = t0
            res["load"] = load
            return res

        # The first start extracts the CJK faces into an empty font cache: cold, apart.
        cold = one_start(variants[0][1], 0)
        results: dict = {name: [] for name, _e in variants}
        for i in range(starts):
            for name, extra in variants:  # interleaved: each variant sees the same load
                results[name].append(one_start(extra, taps if i == starts - 1 else 0))
        import kivy as k

        print(f"kiosk benchmark — {time.strftime('%Y-%m-%d %H:%M')} UTC")
        print(f"machine: {machine()}")
        print(f"Kivy {k.__version__}, GL renderer: {cold.get('gl', '')}, window 800×480, "
              f"language {lang}"
              + (" on Xvfb" if os.environ.get("HUB_BENCH_XVFB") else ""))
        print(f"cold start → first interactive frame (empty font cache), {variants[0][0]}: "
              f"{cold['start'] * 1000:.0f} ms (load {cold['load']})")
        base = None
        for name, _extra in variants:
            rs = results[name]
            loads = sorted(float(r["load"]) for r in rs)
            starts_s = [r["start"] for r in rs]
            print(f"\n== {name}  (GL: {rs[-1].get('gl', '')}; 1-min load during its starts: "
                  f"{loads[0]:.1f}–{loads[-1]:.1f}, median {statistics.median(loads):.1f})")
            print(f"start → first interactive frame: {_ms(starts_s)}")
            print("  of which (median, p99 ms; each phase from the end of the one before):")
            names = list(rs[0]["phases"])
            for j, phase in enumerate(names):
                spans = []
                for r in rs:
                    ph = r["phases"]
                    if phase not in ph:
                        continue
                    before = r["spawned"] if j == 0 else max(
                        (ph[n] for n in names[:j] if n in ph and ph[n] <= ph[phase]),
                        default=r["spawned"])
                    spans.append((ph[phase] - before) * 1000)
                if spans:
                    print(f"    {phase:40s} {statistics.median(spans):7.0f} "
                          f"{_pct(spans, .99):7.0f}")
            print(f"kiosk RSS with Home on screen:   "
                  f"{_summary([r['rss_home'] for r in rs], 'kib')}")
            taps_of = {}
            for r in rs:
                for kname, v in r["taps"].items():
                    taps_of.setdefault(kname, []).extend(v)
            for kname, label in (("my_health", "touch → My health shown (local)"),
                                 ("im_ok", "touch → I'm OK thank-you shown (core, fsync)"),
                                 ("help", "touch → SOS countdown shown (core, fsync)")):
                if kname in taps_of:
                    print(f"{label:46s} {_ms(taps_of[kname])}")
            if taps_of:
                print(f"kiosk RSS after {taps} taps of each kind: {rs[-1]['VmRSS'] / 1024:.0f} "
                      f"MiB (peak {rs[-1]['VmHWM'] / 1024:.0f} MiB)")
            med = (statistics.median(starts_s), statistics.median(r["rss_home"] for r in rs))
            if base is None:
                base = med
            else:
                print(f"ratio to {variants[0][0]}: start {med[0] / base[0]:.2f}×, "
                      f"RSS {med[1] / base[1]:.2f}×")
        return 0
    finally:
        core.terminate()
        try:
            core.wait(10)
        except subprocess.TimeoutExpired:
            core.kill()
        core_log.close()
        shutil.rmtree(work, ignore_errors=True)  # its font cache is ~66 MB


def breakdown(rounds: int, gl: list[str], langs: list[str], compare: str | None) -> int:
    """Where the memory goes, stage by stage, for each variant (interleaved rounds)."""
    work = Path(tempfile.mkdtemp(prefix="bench-kiosk-"))
    env, cfg = _start_env(work)
    variants = _variants(gl, compare)
    marks: dict = {name: [] for name, _e in variants}
    loads: dict = {name: [] for name, _e in variants}
    try:
        for _round in range(rounds):
            for name, extra in variants:
                out = work / "marks.jsonl"
                loads[name].append(float(load_average()))
                code = ("import sys; sys.argv = ['bench_kiosk']; "
                        f"sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); "
                        "import bench_kiosk as b; "
                        f"b.breakdown_child({str(cfg)!r}, {str(out)!r}, {langs!r})")
                res = subprocess.run([sys.executable, "-c", code], env={**env, **extra},
                                     capture_output=True, text=True, timeout=600,
                                     cwd=str(ROOT))
                if res.returncode != 0 or not out.exists():
                    print(res.stdout[-2000:], res.stderr[-4000:], file=sys.stderr)
                    return 1
                marks[name].append([json.loads(x) for x in out.read_text().splitlines()])
                out.unlink()
        print(f"kiosk memory breakdown — {time.strftime('%Y-%m-%d %H:%M')} UTC, "
              f"{rounds} interleaved rounds")
        print(f"machine: {machine()}")
        for name, _extra in variants:
            runs = marks[name]
            ls = sorted(loads[name])
            print(f"\n== {name} (1-min load {ls[0]:.1f}–{ls[-1]:.1f})")
            # (Private pages are not shown: they depend on which other processes map the
            # same libraries at that moment, e.g. another kiosk in a test run.)
            print(f"{'stage':78s} {'RSS MiB':>8s} {'p99':>6s} {'t s':>6s}")
            for i, m in enumerate(runs[0]):
                rss = [r[i]["rss"] / 1024 for r in runs]
                t = statistics.median(r[i]["t"] for r in runs)
                print(f"{m['stage'][:78]:78s} {statistics.median(rss):8.1f} "
                      f"{_pct(rss, .99):6.1f} {t:6.2f}")
            home = next(i for i, m in enumerate(runs[0]) if m["stage"].startswith("Home on"))
            print(f"-- by mapping, Home on screen (median of {len(runs)}):")
            parts = sorted({k for r in runs for k in r[home]} - {"stage", "t", "rss",
                                                                   "private"})
            for part in sorted(parts, key=lambda k: -statistics.median(
                    r[home].get(k, 0) for r in runs)):
                v = statistics.median(r[home].get(part, 0) for r in runs) / 1024
                if v >= 0.05:
                    print(f"   {v:7.1f} MiB  {part}")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--child", metavar="CONFIG", help=argparse.SUPPRESS)
    p.add_argument("--starts", type=int, default=4, help="kiosk starts (first one cold)")
    p.add_argument("--taps", type=int, default=15, help="taps of each kind")
    p.add_argument("--gl", default="llvmpipe",
                   help="Mesa variants to compare, comma-separated, or 'all': "
                        + ", ".join(GL_VARIANTS))
    p.add_argument("--compare", metavar="TREE",
                   help="also run the kiosk from another source tree (e.g. a `git archive` "
                        "of the previous commit), interleaved with this one")
    p.add_argument("--breakdown", action="store_true",
                   help="memory by stage and by mapping (smaps) instead of start-up runs")
    p.add_argument("--rounds", type=int, default=3, help="--breakdown rounds per variant")
    p.add_argument("--langs", default="en",
                   help="--breakdown: languages whose screens are walked (en,zh_CN,ko); "
                        "start-up runs: the first is the kiosk's language")
    args = p.parse_args()
    if args.child:
        child(args.child, args.taps)
        return 0
    gl = list(GL_VARIANTS) if args.gl == "all" else args.gl.split(",")
    unknown = [g for g in gl if g not in GL_VARIANTS]
    if unknown:
        p.error(f"unknown --gl variant {unknown[0]!r}; known: {', '.join(GL_VARIANTS)}")
    compare = str(Path(args.compare).resolve()) if args.compare else None

    def go():
        if args.breakdown:
            return breakdown(args.rounds, gl, args.langs.split(","), compare)
        return run(args.starts, args.taps, gl, compare, args.langs.split(",")[0])

    if os.environ.get("DISPLAY"):
        return go()
    from hub.ui.headless import virtual_display

    os.environ["HUB_BENCH_XVFB"] = "1"
    with virtual_display(1600, 1000):
        return go()


if __name__ == "__main__":
    sys.exit(main())
