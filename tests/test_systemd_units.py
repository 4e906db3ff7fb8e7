"""The systemd units parse, and the core's exposure stays low (systemd-analyze security)."""

import shutil
import subprocess
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parent.parent / "systemd"
analyze = shutil.which("systemd-analyze")
pytestmark = pytest.mark.skipif(not analyze, reason="systemd-analyze not installed")


@pytest.mark.parametrize("unit", ["hub-core.service", "hub-kiosk.service"])
def test_unit_parses_without_errors(unit):
    out = subprocess.run([analyze, "verify", str(UNITS / unit)], capture_output=True, text=True)
    # The executables live on the Pi (/opt/hub, cage); everything else must be clean.
    problems = [line for line in (out.stdout + out.stderr).splitlines()
                if line.strip() and "is not executable" not in line
                and "No such file" not in line]
    assert problems == []


def test_core_unit_exposure_is_at_most_5():
    out = subprocess.run([analyze, "security", "--offline=yes", "--threshold=50",  # tenths: 50 = exposure 5.0
                          str(UNITS / "hub-core.service")], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-2000:]
    assert "Overall exposure level" in out.stdout


def test_core_unit_is_notify_with_watchdog_and_restarts():
    text = (UNITS / "hub-core.service").read_text()
    for line in ("Type=notify", "WatchdogSec=", "Restart=always", "StateDirectory=hub",
                 "ProtectSystem=strict", "NoNewPrivileges=yes"):
        assert line in text
