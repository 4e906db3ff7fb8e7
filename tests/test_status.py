"""Every line of `hub status`, in every sync state, computed from a real store.

Each state is produced for real: a real SQLite store, a real sync worker talking
HTTP to the reference receiver on loopback, with the receiver's fault switches
playing the network and the platform. Then the whole text is checked line by line,
so a stale or missing line cannot hide. The last test goes through a real core
process and the real `hub status` command.
"""

import json
import re
import time

import pytest
from click.testing import CliRunner

from hub.cli import cli
from hub.clock import clock_synced
from hub.sos import SosMachine
from hub.status import collect_status, format_status
from hub.store import Store
from hub.sync.enroll import enroll, read_credentials
from hub.sync.receiver import Receiver
from hub.sync.worker import SyncWorker

from tests.sync.sync_helpers import add_readings, bp_reading, make_config, wait_for

CORE = {"running": True, "pid": 4242}
CLOCK = {True: "synchronised", False: "NOT synchronised (times may be wrong; they are marked "
         "so)", None: "unknown"}[clock_synced()]
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"


@pytest.fixture
def receiver(tmp_path):
    rx = Receiver(tmp_path / "platform.db", seed=3).start()
    yield rx
    rx.close()


@pytest.fixture
def hub(tmp_path, receiver):
    """An enrolled hub: (config, store); its worker is started by the test."""
    cfg = make_config(tmp_path, receiver.url).replace(sos={"button_countdown": 0})
    enroll(cfg, receiver.url, receiver.create_code(), serial="STATUS-1")
    st = Store(cfg.db_path, reserve_bytes=1024 * 1024)
    yield cfg, st
    st.close()


@pytest.fixture
def worker():
    started = []

    def start(cfg):
        w = SyncWorker(cfg)
        w.start()
        started.append(w)
        return w

    yield start
    for w in started:
        w.stop()


def check(text: str, expected: list[str]):
    """Every line of ``text`` matches the regular expression at the same place."""
    lines = text.splitlines()
    assert len(lines) == len(expected), text
    for line, pattern in zip(lines, expected):
        assert re.fullmatch(pattern, line), f"\n{line!r}\n does not match\n{pattern!r}"


def by_label(text: str) -> dict[str, str]:
    """The lines of `hub status` by their label ("Sync", "Last error"...)."""
    return {ln.split(":", 1)[0]: ln for ln in text.splitlines() if not ln.startswith(" ")}


def tail(last_sync: str = "never", last_error: str = "none") -> list[str]:
    return [f"Last sync:  {last_sync}", f"Last error: {last_error}",
            "Devices:    none paired", re.escape(f"Clock:      {CLOCK}")]


def test_never_enrolled_and_not_configured(tmp_path, receiver):
    cfg = make_config(tmp_path, receiver.url)
    st = Store(cfg.db_path, reserve_bytes=1024 * 1024)
    try:
        status = collect_status(st, cfg, core=CORE)
        check(format_status(status), [
            "SOS:        no alarm open",
            re.escape("Core:       running (pid 4242)"),
            re.escape("Outbox:     0 waiting (0 urgent), oldest -; 0 refused by the platform "
                      "(dead letters)"),
            re.escape(f"Sync:       NOT ENROLLED — {receiver.url}; nothing leaves this hub. "
                      "Run `hub enroll --url URL --code CODE`"),
            *tail()])
        assert status["sync"]["enrolled"] is False and status["sync"]["sos_pending"] is False
        bare = make_config(tmp_path / "bare")
        assert format_status(collect_status(st, bare, core=CORE)).splitlines()[3] == (
            "Sync:       not configured (no platform URL) — nothing leaves this hub. "
            "Run `hub enroll --url URL --code CODE`")
    finally:
        st.close()


def test_ok_then_core_stopped(hub, receiver, worker):
    cfg, st = hub
    add_readings(st, 5)
    w = worker(cfg)
    wait_for(lambda: st.outbox_stats()["depth"] == 0, what="delivered")
    wait_for(lambda: st.get_runtime("sync.state") == "ok", what="ok written to the store")
    status = collect_status(st, cfg, core=CORE)
    check(format_status(status), [
        "SOS:        no alarm open",
        re.escape("Core:       running (pid 4242)"),
        re.escape("Outbox:     0 waiting (0 urgent), oldest -; 0 refused by the platform "
                  "(dead letters)"),
        re.escape(f"Sync:       ok — {receiver.url}"),
        *tail(last_sync=rf"{STAMP} \(\d+ s ago\)")])
    first = status["sync"]["last_success"]
    time.sleep(0.05)
    add_readings(st, 1)
    w.wake()
    wait_for(lambda: collect_status(st, cfg, core=CORE)["sync"]["last_success"] != first,
             what="last sync moving on (never frozen)")
    w.stop()
    # The core (and so the worker) stopped: never "ok" any more.
    check(format_status(collect_status(st, cfg)), [
        "SOS:        no alarm open",
        "Core:       NOT RUNNING — alarms from the screen cannot be taken",
        re.escape("Outbox:     0 waiting (0 urgent), oldest -; 0 refused by the platform "
                  "(dead letters)"),
        re.escape(f"Sync:       STOPPED — the core is not running, nothing is sent to "
                  f"{receiver.url} (last known: ok)"),
        *tail(last_sync=rf"{STAMP} \(\d+ s ago\)")])


def test_offline(hub, receiver, worker):
    cfg, st = hub
    receiver.set_faults(offline=True)
    add_readings(st, 3)
    worker(cfg)
    wait_for(lambda: st.get_runtime("sync.state") == "offline", what="offline in the store")
    check(format_status(collect_status(st, cfg, core=CORE)), [
        "SOS:        no alarm open",
        re.escape("Core:       running (pid 4242)"),
        r"Outbox:     3 waiting \(0 urgent\), oldest \d+ s; 0 refused by the platform "
        r"\(dead letters\)",
        re.escape(f"Sync:       OFFLINE — cannot reach {receiver.url}; 3 waiting, nothing is "
                  "lost"),
        r"            cannot reach 127\.0\.0\.1:\d+ \(.*\)\. Check the home's internet .*",
        *tail(last_error=rf"cannot reach 127\.0\.0\.1:\d+ .* \(at {STAMP}\)")])


def test_token_revoked(hub, receiver, worker):
    cfg, st = hub
    receiver.revoke(read_credentials(cfg.token_path).hub_id)
    add_readings(st, 2)
    worker(cfg)
    wait_for(lambda: st.get_runtime("sync.state") == "unauthorized", what="revoked in the store")
    check(format_status(collect_status(st, cfg, core=CORE)), [
        "SOS:        no alarm open",
        re.escape("Core:       running (pid 4242)"),
        r"Outbox:     2 waiting \(0 urgent\), oldest \d+ s; 0 refused by the platform "
        r"\(dead letters\)",
        re.escape(f"Sync:       TOKEN REVOKED — {receiver.url} refuses this hub's token; "
                  "health data waits, SOS alarms are still sent. Enrol again: hub enroll "
                  "--url URL --code CODE"),
        *tail(last_error=r"token revoked: .* refused this hub's token \(HTTP 401.* \(at "
                         rf"{STAMP}\)")])


def test_sos_refused_then_taken(hub, receiver, worker):
    cfg, st = hub
    receiver.set_faults(refuse_sos="rejected", refuse_minimal=True)
    machine = SosMachine(st, cfg.sos)
    alarm = machine.press("button")[0]["alarm_id"]
    worker(cfg)
    wait_for(lambda: receiver.stats()["counters"]["faults_refused_sos"] >= 1, what="refusal")
    wait_for(lambda: collect_status(st, cfg, core=CORE)["sync"]["state"] == "sos_refused",
             what="refused in the store")
    status = collect_status(st, cfg, core=CORE)
    check(format_status(status), [
        re.escape("SOS:        RAISED — REFUSED by the platform (injected fault: sos refused); "
                  "the hub keeps resending it — phone the service centre now (alarm "
                  f"{alarm})"),
        re.escape("Core:       running (pid 4242)"),
        r"Outbox:     1 waiting \(1 urgent\), oldest \d+ s; 0 refused by the platform "
        r"\(dead letters\)",
        re.escape(f"Sync:       SOS REFUSED by {receiver.url} (injected fault: sos refused); "
                  "the hub keeps resending it — phone the service centre now"),
        *tail(last_error=r"the care platform REFUSED an SOS alarm .* \(at " + STAMP + r"\)")])
    assert status["sync"]["sos_pending"] is True and status["sync"]["dead_letters"] == 0
    # With the core stopped nothing is resent, and the text must not say otherwise.
    stopped = by_label(format_status(collect_status(st, cfg)))
    assert stopped["SOS"].endswith("NOT being resent while the core is stopped — phone the "
                                   f"service centre now (alarm {alarm})")
    assert stopped["Sync"].startswith("Sync:       STOPPED — the core is not running")
    receiver.set_faults(refuse_sos="", refuse_minimal=False)
    wait_for(lambda: st.outbox_stats()["depth"] == 0, timeout=35, what="taken at last")
    after = collect_status(st, cfg, core=CORE)
    assert after["sync"]["sos_pending"] is False and after["sync"]["state"] != "sos_refused"
    assert "REFUSED" not in format_status(after).splitlines()[0]


def test_dead_letters_are_counted(hub, receiver, worker):
    cfg, st = hub
    st.record_event("Bad Kind!", {"x": 1})
    st.add_reading(bp_reading(values={"systolic": "high"}))
    st.add_reading(bp_reading(values={"systolic": float("nan")}))
    add_readings(st, 4)
    worker(cfg)
    wait_for(lambda: st.outbox_stats()["depth"] == 0, what="drained")
    wait_for(lambda: st.get_runtime("sync.state") == "ok", what="ok")
    status = collect_status(st, cfg, core=CORE)
    check(format_status(status), [
        "SOS:        no alarm open",
        re.escape("Core:       running (pid 4242)"),
        re.escape("Outbox:     0 waiting (0 urgent), oldest -; 3 refused by the platform "
                  "(dead letters)"),
        re.escape(f"Sync:       ok — {receiver.url}"),
        *tail(last_sync=rf"{STAMP} \(\d+ s ago\)")])
    assert status["sync"]["dead_letters"] == 3


@pytest.mark.slow
def test_hub_status_through_a_real_core_after_a_sync_error_and_when_stopped(core_factory,
                                                                            receiver):
    """The text once crashed (AttributeError) after any sync error; and it said "ok"
    with the core stopped. Also: a countdown and its cancel reach the platform."""
    core = core_factory().start()
    args = ["--config", str(core.config_path), "status"]
    with core.client() as c:
        c.request("sync.enroll", url=receiver.url, code=receiver.create_code())
        press = c.request("sos.press", source="touch")
        c.request("sos.cancel", source="touch")
        wait_for(lambda: {e["type"] for e in receiver.events()} >= {"sos_countdown",
                                                                    "sos_cancelled"},
                 timeout=10, what="countdown and cancel at the platform")
        assert receiver.events(type="sos_countdown")[0]["id"] == press["press_id"]
        wait_for(lambda: c.request("status")["outbox"]["depth"] == 0, what="hub knows")
        receiver.set_faults(offline=True)
        c.request("sos.press", source="touch")  # raised after its 3 s countdown
        wait_for(lambda: c.request("status")["sync"]["state"] == "offline", timeout=15,
                 what="offline")
        wait_for(lambda: c.request("status")["sos"]["state"] == "raised", timeout=10,
                 what="raised")
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    line = by_label(result.output)
    assert line["SOS"].startswith("SOS:        RAISED")
    assert re.fullmatch(r"Core:       running \(pid \d+\)", line["Core"])
    assert line["Outbox"].startswith("Outbox:     2 waiting (2 urgent)")  # countdown and raise
    assert line["Sync"].startswith(f"Sync:       OFFLINE — cannot reach {receiver.url}")
    assert line["Last sync"].startswith("Last sync:  20")
    assert line["Last error"].startswith("Last error: cannot reach")
    data = json.loads(CliRunner().invoke(cli, args + ["--json"]).output)
    assert data["sync"]["sos_pending"] is True and data["sync"]["state"] == "offline"
    core.terminate()
    line = by_label(CliRunner().invoke(cli, args).output)
    assert line["Core"] == "Core:       NOT RUNNING — alarms from the screen cannot be taken"
    assert line["Sync"] == (f"Sync:       STOPPED — the core is not running, nothing is sent "
                            f"to {receiver.url} (last known: offline)")


@pytest.mark.slow
def test_the_elder_hears_that_the_platform_refused_the_alarm(core_factory, receiver):
    core = core_factory().start()
    with core.client(subscribe=True) as c:
        c.request("sync.enroll", url=receiver.url, code=receiver.create_code())
        receiver.set_faults(refuse_sos="422")
        c.request("sos.press", source="touch")
        c.wait_push("say", lambda d: "did not accept your alarm" in d["text"], timeout=15)
        # ... and the minimal form it was resent in was taken: the alarm is delivered.
        c.wait_push("sos", lambda d: d["state"] == "delivered", timeout=15)
    [raised] = receiver.events(type="sos_raised")
    assert raised["body"]["data"] == {"minimal": True}
