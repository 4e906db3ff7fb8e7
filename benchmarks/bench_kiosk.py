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

Usage: ``python benchmarks/bench_kiosk.py [--starts N] [--taps N]``
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
sys.path.insert(0, str(ROOT))


def _rss_kib() -> int:
    line = next(x for x in Path("/proc/self/status").read_text().splitlines()
                if x.startswith("VmRSS:"))
    return int(line.split()[1])


# -- the kiosk process ------------------------------------------------------------------

def child(config_path: str, taps: int) -> None:
    """Run the kiosk, measure, print one JSON line, exit."""
    from hub.config import load_config
    from hub.ui.app import configure_kivy

    cfg = load_config(config_path)
    configure_kivy(cfg, fullscreen=False, size=(800, 480))
    from kivy.clock import Clock
    from kivy.core.window import Window
    from kivy.tests.common import UnitTestTouch

    from hub.ui.app import KioskApp

    app = KioskApp(cfg)
    result: dict = {"taps": {}}
    watch: dict = {"cond": None, "at": None}

    def on_flip(*_a):
        # The first frame put on screen while the result is there: that is "visible".
        if watch["cond"] is not None and watch["at"] is None and watch["cond"]():
            watch["at"] = time.monotonic()

    Window.bind(on_flip=on_flip)

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

    def step(gen):
        try:
            delay = next(gen)
        except StopIteration:
            return
        Clock.schedule_once(lambda _dt: step(gen), delay)

    app.bind(on_start=lambda *_a: step(script()))
    app.run()


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


def run(starts: int, taps: int) -> int:
    from hub.api import ApiClient
    from hub.ui.headless import kivy_environment

    work = Path(tempfile.mkdtemp(prefix="bench-kiosk-"))
    state = work / "state"
    cfg = work / "hub.toml"
    cfg.write_text(f'[hub]\nstate_dir = "{state}"\n[audio]\nspeech_engine = "silent"\n'
                   '[sos]\ncountdown = 10\n[kiosk]\nfullscreen = false\n')
    env = {**os.environ, **kivy_environment(str(work / "kivy")), "PYTHONPATH": str(ROOT)}
    core_log = open(work / "core.log", "wb")
    core = subprocess.Popen([sys.executable, "-m", "hub", "--config", str(cfg), "core"],
                            env=env, stdout=core_log, stderr=core_log, cwd=str(ROOT))
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
        cold, warm, tap_times, rss, hwm, gl, rss_home = [], [], {}, [], [], "", []
        for i in range(starts):
            # A new, empty font cache: the first start also extracts the CJK faces.
            run_env = {**env, "HUB_FONT_CACHE": str(work / "fonts")}
            t0 = time.monotonic()
            out = subprocess.run([sys.executable, __file__, "--child", str(cfg), "--taps",
                                  str(taps if i == starts - 1 else 0)],
                                 env=run_env, capture_output=True, text=True, timeout=180,
                                 cwd=str(ROOT))
            line = next((x for x in out.stdout.splitlines() if x.startswith("BENCH ")), None)
            if line is None:
                print(out.stdout[-2000:], out.stderr[-4000:], file=sys.stderr)
                return 1
            res = json.loads(line[6:])
            (cold if i == 0 else warm).append(res["first_frame"] - t0)
            for k, v in res["taps"].items():
                tap_times.setdefault(k, []).extend(v)
            rss.append(res["VmRSS"])
            rss_home.append(res["rss_home"])
            hwm.append(res["VmHWM"])
            gl = res.get("gl", "")
        import kivy as k

        print(f"kiosk benchmark — {time.strftime('%Y-%m-%d')}")
        print(f"machine: {machine()}")
        print(f"Kivy {k.__version__}, GL renderer: {gl}, window 800×480"
              + (" on Xvfb" if os.environ.get("HUB_BENCH_XVFB") else ""))
        print(f"cold start → first interactive frame (empty font cache): "
              f"{cold[0] * 1000:.0f} ms")
        if warm:
            print(f"start → first interactive frame (warm): {_ms(warm)}")
        for name, label in (("my_health", "touch → My health shown (local)"),
                            ("im_ok", "touch → I'm OK thank-you shown (core, fsync)"),
                            ("help", "touch → SOS countdown shown (core, fsync)")):
            if name in tap_times:
                print(f"{label:46s} {_ms(tap_times[name])}")
        print(f"kiosk RSS with Home on screen: median {statistics.median(rss_home) / 1024:.0f} "
              f"MiB, p99 {_pct(rss_home, .99) / 1024:.0f} MiB (n={len(rss_home)})")
        print(f"kiosk RSS after {taps} taps of each kind: {rss[-1] / 1024:.0f} MiB "
              f"(peak {hwm[-1] / 1024:.0f} MiB; first start, extracting fonts: peak "
              f"{hwm[0] / 1024:.0f} MiB)")
        return 0
    finally:
        core.terminate()
        try:
            core.wait(10)
        except subprocess.TimeoutExpired:
            core.kill()
        core_log.close()
        shutil.rmtree(work, ignore_errors=True)  # its font cache is ~66 MB


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--child", metavar="CONFIG", help=argparse.SUPPRESS)
    p.add_argument("--starts", type=int, default=4, help="kiosk starts (first one cold)")
    p.add_argument("--taps", type=int, default=15, help="taps of each kind")
    args = p.parse_args()
    if args.child:
        child(args.child, args.taps)
        return 0
    if os.environ.get("DISPLAY"):
        return run(args.starts, args.taps)
    from hub.ui.headless import virtual_display

    os.environ["HUB_BENCH_XVFB"] = "1"
    with virtual_display(1600, 1000):
        return run(args.starts, args.taps)


if __name__ == "__main__":
    sys.exit(main())
