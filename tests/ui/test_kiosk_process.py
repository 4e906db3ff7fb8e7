"""`hub kiosk` as systemd runs it: full screen, connects by itself, stops on SIGTERM."""

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def test_hub_kiosk_connects_and_stops_cleanly_on_sigterm(kivy_display, hooked_core_factory,
                                                         tmp_path):
    core = hooked_core_factory(kiosk={"fullscreen": True}).start()
    log_path = tmp_path / "kiosk.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HUB_FONT_CACHE":
           os.environ.get("HUB_FONT_CACHE", os.path.expanduser("~/.cache/elder-hub/fonts"))}
    with open(log_path, "wb") as log:
        kiosk = subprocess.Popen([sys.executable, "-m", "hub", "-v", "--config",
                                  str(core.config_path), "kiosk"], stdout=log, stderr=log,
                                 env=env, cwd=str(ROOT))
    try:
        end = time.monotonic() + 30
        while "connected to the core" not in log_path.read_text(errors="replace"):
            assert kiosk.poll() is None, log_path.read_text(errors="replace")[-3000:]
            assert time.monotonic() < end, "the kiosk did not connect within 30 s"
            time.sleep(0.1)
        # Memory (issue 12): nothing loads PIL or numpy into the kiosk (Kivy's PIL image
        # loader did, ~13 MiB and 0.2 s of start-up).
        maps = open(f"/proc/{kiosk.pid}/maps").read()
        assert "/PIL/" not in maps and "/numpy" not in maps, [
            line.split()[-1] for line in maps.splitlines() if "PIL" in line or "numpy" in line]
        kiosk.send_signal(signal.SIGTERM)
        assert kiosk.wait(10) == 0
    finally:
        if kiosk.poll() is None:
            kiosk.kill()
            kiosk.wait()
