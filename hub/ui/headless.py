"""A virtual screen (Xvfb) for the kiosk's screenshots, tests and benchmarks.

Used only when there is no display to draw on; the kiosk itself never needs it.
"""

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = ["virtual_display", "kivy_environment"]


def _free_display() -> int:
    for n in range(90, 400):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            return n
    raise RuntimeError("no free X display number between :90 and :399")


@contextlib.contextmanager
def virtual_display(width: int = 1600, height: int = 1000):
    """Start ``Xvfb`` on a free display, set ``DISPLAY``, stop it afterwards."""
    if not shutil.which("Xvfb"):
        raise RuntimeError("Xvfb is not installed: run scripts/install-system-deps.sh "
                           "(Debian package xvfb)")
    old = os.environ.get("DISPLAY")
    for _attempt in range(5):
        n = _free_display()
        proc = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", f"{width}x{height}x24",
                                 "-nolisten", "tcp"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        end = time.monotonic() + 10
        while time.monotonic() < end and proc.poll() is None:
            if Path(f"/tmp/.X11-unix/X{n}").exists():
                break
            time.sleep(0.05)
        if proc.poll() is None:
            break
    else:
        raise RuntimeError("Xvfb did not start")
    os.environ["DISPLAY"] = f":{n}"
    try:
        yield f":{n}"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
        if old is None:
            os.environ.pop("DISPLAY", None)
        else:
            os.environ["DISPLAY"] = old


def kivy_environment(home: str | None = None) -> dict:
    """Environment for a quiet Kivy in a tool or test: no argv parsing, no console log,
    its config and logs in a private directory."""
    env = {"KIVY_NO_ARGS": "1", "KIVY_NO_CONSOLELOG": "1", "KIVY_NO_FILELOG": "1",
           "KIVY_LOG_MODE": "PYTHON",
           "KIVY_HOME": home or tempfile.mkdtemp(prefix="hub-kivy-")}
    os.environ.update(env)
    return env
