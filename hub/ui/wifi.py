"""Wi-Fi through NetworkManager's ``nmcli``: list networks, join one. No Kivy here.

Runs ``nmcli`` as the kiosk's user (polkit must allow it: on Raspberry Pi OS the
``netdev`` group does). Every failure becomes :class:`WifiError` with words a
family member can act on; nmcli's own message is kept, because it is usually clear
("Secrets were required, but not provided").
"""

import shutil
import subprocess

__all__ = ["WifiError", "available", "scan", "connect", "parse_terse"]


class WifiError(Exception):
    """Wi-Fi could not be listed or joined; the message says why, in words."""


def available() -> bool:
    """True if ``nmcli`` is installed."""
    return shutil.which("nmcli") is not None


def _run(args: list[str], timeout: float) -> str:
    if not available():
        raise WifiError("Wi-Fi settings need NetworkManager (the nmcli command), which is not "
                        "installed on this hub. Ask your technician, or connect a network cable.")
    try:
        out = subprocess.run(["nmcli", *args], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise WifiError("Wi-Fi did not answer in time. Try again.") from None
    if out.returncode != 0:
        msg = (out.stderr or out.stdout).strip().removeprefix("Error: ")
        raise WifiError(msg or f"nmcli failed (exit code {out.returncode})")
    return out.stdout


def parse_terse(line: str) -> list[str]:
    """Split one line of ``nmcli -t`` output (``:`` separated, ``\\:`` escaped)."""
    fields, cur, i = [], "", 0
    while i < len(line):
        c = line[i]
        if c == "\\" and i + 1 < len(line):
            cur += line[i + 1]
            i += 2
            continue
        if c == ":":
            fields.append(cur)
            cur = ""
        else:
            cur += c
        i += 1
    fields.append(cur)
    return fields


def scan() -> list[dict]:
    """Networks in reach, strongest first: ``{ssid, signal, secure, active}``."""
    out = _run(["-t", "-f", "IN-USE,SSID,SIGNAL,SECURITY", "device", "wifi", "list",
                "--rescan", "yes"], timeout=30)
    seen: dict[str, dict] = {}
    for line in out.splitlines():
        parts = parse_terse(line)
        if len(parts) < 4 or not parts[1]:
            continue
        net = {"ssid": parts[1], "signal": int(parts[2] or 0),
               "secure": parts[3] not in ("", "--"), "active": parts[0].strip() == "*"}
        old = seen.get(net["ssid"])
        if old is None or net["signal"] > old["signal"]:
            seen[net["ssid"]] = {**net, "active": net["active"] or bool(old and old["active"])}
        elif net["active"]:
            old["active"] = True
    return sorted(seen.values(), key=lambda n: (-n["active"], -n["signal"]))


def connect(ssid: str, password: str = "") -> str:
    """Join a network; returns nmcli's confirmation."""
    args = ["device", "wifi", "connect", ssid]
    if password:
        args += ["password", password]
    return _run(args, timeout=60).strip()
