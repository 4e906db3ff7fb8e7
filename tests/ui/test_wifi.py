"""Wi-Fi through nmcli: its terse output, and plain words when it is missing."""

import pytest

from hub.ui import wifi


def test_terse_lines_with_escaped_colons():
    assert wifi.parse_terse(r"*:My\:Net:82:WPA2") == ["*", "My:Net", "82", "WPA2"]
    assert wifi.parse_terse(r" :Cafe\\Wifi:40:") == [" ", "Cafe\\Wifi", "40", ""]


def test_scan_merges_and_sorts(monkeypatch):
    out = "\n".join([" :Neighbour:40:WPA2", "*:Home:70:WPA2", " :Home:82:WPA2",
                     " ::30:WPA2", " :Open:55:--"])
    monkeypatch.setattr(wifi, "_run", lambda args, timeout: out)
    nets = wifi.scan()
    assert [n["ssid"] for n in nets] == ["Home", "Open", "Neighbour"]
    assert nets[0]["signal"] == 82 and nets[0]["active"] and not nets[1]["secure"]


def test_missing_nmcli_is_said_plainly(monkeypatch):
    monkeypatch.setattr(wifi.shutil, "which", lambda name: None)
    with pytest.raises(wifi.WifiError, match="NetworkManager"):
        wifi.scan()
