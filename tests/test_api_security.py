"""The local API under abuse: roles by SO_PEERCRED, untrusted arguments, clients that do
not read, too many connections, bad settings, and who may read the database.

Clients of another user are real: the test forks, the child drops to uid nobody with the
socket's group, and talks to a real core subprocess over its socket.
"""

import json
import logging
import os
import select
import shutil
import signal
import socket
import stat
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from hub.api import COMMANDS, ApiClient
from hub.errors import ApiError
from hub.logfilter import RepeatFilter
from hub.store import Store
from hub.validate import ARGS, BadRequest, check_args
from tests.conftest import CoreProcess, write_config

NOBODY, NOGROUP = 65534, 65534
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="dropping to another uid needs root")


# -- helpers -----------------------------------------------------------------------------

def exchange(sock: socket.socket, request, *, timeout: float = 10.0) -> dict:
    """Send one request (dict or raw bytes) and return the next non-push line."""
    sock.settimeout(timeout)
    data = request if isinstance(request, bytes) else json.dumps(request).encode() + b"\n"
    sock.sendall(data)
    buf = b""
    while True:
        while b"\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"the core closed the connection; got {buf!r}")
            buf += chunk
        line, buf = buf.split(b"\n", 1)
        msg = json.loads(line)
        if "push" not in msg:
            return msg


def as_user(fn, *, uid: int = NOBODY, gid: int = NOGROUP, timeout: float = 30.0):
    """Run ``fn()`` in a forked child that has dropped to ``uid``/``gid``; its JSON result."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: no pytest machinery from here on
        code = 0
        try:
            os.close(read_end)
            os.setgroups([gid])
            os.setgid(gid)
            os.setuid(uid)
            out = json.dumps({"ok": fn()}).encode()
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            out = json.dumps({"error": repr(exc)}).encode()
            code = 1
        with os.fdopen(write_end, "wb") as fh:
            fh.write(out)
        os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as fh:
        deadline = time.monotonic() + timeout
        data = fh.read()
        while time.monotonic() < deadline:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.02)
        else:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    result = json.loads(data)
    if "error" in result:
        raise AssertionError(f"child as uid {uid} failed: {result['error']}")
    return result["ok"]


def member_session(path: str, requests: list) -> list[dict]:
    """For a child: one connection, these requests in order, the replies."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(path)
        return [exchange(s, r) for r in requests]


@pytest.fixture
def shared_dir():
    """A directory the nobody user can reach (pytest's tmp_path is root's alone)."""
    path = Path(tempfile.mkdtemp(prefix="hub-sock-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def open_core(tmp_path, shared_dir):
    """Start a core whose socket (group nogroup) other users can reach."""
    started = []

    def make(prefix: list[str] | None = None, **sections) -> CoreProcess:
        hub = {"socket_path": str(shared_dir / "hub.sock"), "socket_group": "nogroup",
               **sections.pop("hub", {})}
        cfg = write_config(tmp_path, hub=hub, **sections)
        core = _PrefixedCore(cfg, tmp_path / "state", prefix or [])
        core.socket = shared_dir / "hub.sock"
        started.append(core)
        return core.start()

    yield make
    for core in started:
        core.kill()


class _PrefixedCore(CoreProcess):
    """A core started through a wrapper (e.g. prlimit) that execs it: same pid."""

    def __init__(self, config_path, state_dir, prefix):
        super().__init__(config_path, state_dir)
        self.prefix = prefix

    def command(self):
        return [*self.prefix, *super().command()]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


# -- roles ---------------------------------------------------------------------------------

@needs_root
def test_a_group_member_gets_only_what_the_kiosk_needs(open_core):
    core = open_core()
    path = str(core.socket)
    replies = as_user(lambda: member_session(path, [
        {"id": 1, "cmd": "hello", "args": {"client": "kiosk"}},
        {"id": 2, "cmd": "sos.press", "args": {"source": "voice"}},
        {"id": 3, "cmd": "sos.cancel", "args": {"source": "platform"}},
        {"id": 4, "cmd": "sos.resolve", "args": {}},
        {"id": 5, "cmd": "sync.enroll", "args": {"url": "http://127.0.0.1:9", "code": "X1"}},
        {"id": 6, "cmd": "reading.add", "args": {"reading": {
            "kind": "body_temperature", "values": {"temperature": 36.6}}}},
        {"id": 7, "cmd": "readings.latest"},
        {"id": 8, "cmd": "event.record", "args": {"kind": "alert",
                                                  "source": "rules", "data": {"what": "fall"}}},
        {"id": 9, "cmd": "sos.cancel", "args": {}},
        {"id": 10, "cmd": "settings.set", "args": {"key": "text_size", "value": "large"}},
    ]))
    by_id = {r["id"]: r for r in replies}
    assert by_id[1]["result"]["role"] == "member" and by_id[1]["result"]["source"] == "touch"
    # The core, not the client, says where a press came from.
    assert by_id[2]["ok"] and by_id[2]["result"]["source"] == "touch"
    for i in (4, 5, 6):
        assert by_id[i]["code"] == "forbidden", by_id[i]
    assert "PIN" in by_id[5]["error"]
    # Asking to be the platform (or the care rules) is not honoured: recorded as touch.
    assert by_id[3]["ok"] and by_id[3]["result"]["cancelled"]
    assert by_id[8]["ok"] and by_id[8]["result"]["source"] == "touch"
    assert by_id[7]["ok"] and by_id[9]["ok"] and not by_id[9]["result"]["cancelled"]
    assert by_id[10]["ok"]
    # Root is admin, but not even root can act as the button (whose countdown is 0 here).
    with core.client() as c:
        assert c.request("hello", client="cli")["role"] == "admin"
        pressed = c.request("sos.press", source="button")
        assert pressed["state"] == "countdown" and pressed["source"] == "api"
        c.request("sos.resolve", source="platform")
    store = Store(core.state_dir / "hub.db")
    try:
        assert [e["source"] for e in store.events("sos_countdown")] == ["touch", "api"]
        assert [e["source"] for e in store.events("sos_cancelled")] == ["touch", "api"]
        assert [e["source"] for e in store.events("alert")] == ["touch"]
    finally:
        store.close()
    assert "asked sos.cancel as source 'platform'; recorded as 'touch'" in core.log()


@needs_root
def test_enrolment_needs_the_setup_pin_and_wrong_pins_lock_out(open_core):
    core = open_core(kiosk={"setup_pin": "4711"})
    path = str(core.socket)
    enroll = {"cmd": "sync.enroll", "args": {"url": "http://127.0.0.1:9", "code": "ABC123"}}

    def with_pin(pin, i):
        return {**enroll, "id": i, "args": {**enroll["args"], "pin": pin}}

    replies = as_user(lambda: member_session(path, [
        with_pin("4711", 1),                              # right PIN: reaches the platform
        *[with_pin("0000", i) for i in range(2, 7)],      # five wrong ones
        with_pin("4711", 7),                              # now locked out, even if right
    ]))
    assert replies[0]["code"] == "failed", replies[0]  # 127.0.0.1:9 refuses: not forbidden
    assert all(r["code"] == "forbidden" and "not right" in r["error"] for r in replies[1:6])
    assert replies[6]["code"] == "forbidden" and "too many wrong PINs" in replies[6]["error"]
    with core.client() as c:  # the core's own user needs no PIN
        with pytest.raises(ApiError) as err:
            c.request("sync.enroll", url="http://127.0.0.1:9", code="ABC123")
        assert "PIN" not in str(err.value)


# -- malformed requests ----------------------------------------------------------------------

MALFORMED = [
    (b'{"id":1,"cmd":"readings.list","args":{"limit":1e400}}', "finite"),
    (b'{"id":1,"cmd":"readings.list","args":{"limit":-1}}', "limit = -1 is out of range"),
    (b'{"id":1,"cmd":"readings.list","args":{"limit":NaN}}', "finite"),
    (b'{"id":1,"cmd":"readings.list","args":{"kind":{}}}', "kind must be a text"),
    (b'{"id":1,"cmd":"readings.list","args":{"since":12345}}', "since must be an RFC 3339"),
    (b'{"id":1,"cmd":"reading.add","args":{"reading":{"kind":"spo2","values":{"spo2":97},'
     b'"measured_at":12345}}}', "measured_at must be an RFC 3339"),
    (b'{"id":1,"cmd":"reading.add","args":{"reading":{"kind":"spo2","values":{"spo2":97},'
     b'"measured_at":"2026-11-25T08:00:00"}}}', "with an offset"),
    (b'{"id":1,"cmd":"inbox.read","args":{"id":{}}}', "id must be a text"),
    (b'{"id":1,"cmd":"event.record","args":{"kind":{}}}', "is not one of"),
    (b'{"id":1,"cmd":"sos.press","args":{"id":{}}}', "must be a UUID"),
    (b'{"id":1,"cmd":"say","args":{"text":"\\ud800"}}', "lone surrogate"),
    (b'{"id":1,"cmd":"subscribe","args":{"topics":"sos"}}', "must be a list"),
    (b'{"id":1,"cmd":"sos.press","args":{"test":"yes"}}', "true or false"),
    (b'{"id":1,"cmd":"hello","args":{"client":"platform"}}', "is not one of"),
    (b'[' * 1000 + b']' * 1000, "nested too deeply"),
    (b'{"id":1,"cmd":"ping","args":' + b'[' * 5000 + b']' * 5000 + b'}', "nested too deeply"),
    (b'{"id":1,"cmd":"ping","args":{"x":' + b'9' * 5000 + b'}}', "not a JSON line"),
]


def test_malformed_arguments_get_bad_request_never_internal(core):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(str(core.socket))
        for line, words in MALFORMED:
            reply = exchange(s, line + b"\n")
            assert reply["ok"] is False and reply["code"] == "bad_request", (line[:80], reply)
            assert words in reply["error"], (line[:80], reply)
        assert exchange(s, {"id": 2, "cmd": "ping"}) == {"id": 2, "ok": True, "result": {}}
    assert "hub.core: command" not in core.log()  # no request failed inside


# The whole protocol, fuzzed: any command with any JSON arguments gets one reply, never
# `internal`, and the connection stays usable.
_json = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=30)
    | st.sampled_from(["", "\ud800", "touch", "platform", "2026-11-25T08:00:00Z",
                       "0c0ffee0-1234-4abc-8def-0123456789ab", "kiosk", "language", "volume"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12)
_ALL = sorted(set(COMMANDS) | set(ARGS))


@st.composite
def requests_(draw):
    cmd = draw(st.sampled_from(_ALL + ["nope", ""]))
    names = list(ARGS.get(cmd, {})) + ["x"]
    args = draw(st.dictionaries(st.sampled_from(names), _json, max_size=4))
    return cmd, args


def _would_run(cmd, args) -> bool:
    try:
        check_args(cmd, json.loads(json.dumps(args)))
        return True
    except (BadRequest, ValueError):
        return False


@pytest.mark.slow
def test_fuzzed_requests_always_get_a_reply_and_never_internal(core):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(core.socket))
    seen = set()

    @settings(max_examples=400, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(requests_())
    def check(request):
        cmd, args = request
        # With good arguments these reach out to the network, scan or pair for many seconds.
        assume(not (cmd in ("sync.enroll", "doctor", "devices.scan", "devices.pair")
                    and _would_run(cmd, args)))
        line = json.dumps({"id": 1, "cmd": cmd, "args": args}).encode() + b"\n"
        reply = exchange(sock, line)
        assert reply.get("code") != "internal", (cmd, args, reply)
        seen.add(reply.get("code", "ok"))

    try:
        check()
    finally:
        sock.close()
    assert {"bad_request", "unknown_command", "ok"} <= seen
    assert "hub.core: command" not in core.log()  # no request failed inside


# -- settings ----------------------------------------------------------------------------------

BAD_SETTINGS = [
    ("volume", float("nan")), ("volume", 0), ("volume", -3), ("volume", 1e308),
    ("volume", "loud"), ("speech_rate", 1e7), ("speech_rate", 79), ("speech_rate", True),
    ("elder_name", "x" * 200_000), ("elder_name", "\ud800"), ("elder_name", 5),
    ("elder_name", "Ann\x00"), ("language", "fr"), ("text_size", None),
]


def test_bad_settings_are_refused_and_nothing_is_stored(core):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(str(core.socket))
        before = exchange(s, {"id": 1, "cmd": "settings.get"})["result"]
        for key, value in BAD_SETTINGS:
            line = json.dumps({"id": 2, "cmd": "settings.set",
                               "args": {"key": key, "value": value}}).encode() + b"\n"
            if len(line) > 256 * 1024:
                continue
            reply = exchange(s, line)
            assert reply["code"] == "bad_request", (key, str(value)[:20], reply)
        assert exchange(s, {"id": 3, "cmd": "settings.get"})["result"] == before
        ok = exchange(s, {"id": 4, "cmd": "settings.set",
                          "args": {"key": "elder_name", "value": "  Kim   Soon-ja "}})
        assert ok["result"] == {"elder_name": "Kim Soon-ja"}
        assert exchange(s, {"id": 5, "cmd": "hello"})["result"]["elder_name"] == "Kim Soon-ja"


def test_a_broken_stored_setting_falls_back_to_the_default(core):
    core.kill()
    store = Store(core.state_dir / "hub.db", reserve_bytes=1)
    try:  # as an older core without checks could have stored them
        store.set_setting("elder_name", "x" * 200_000)
        store.set_setting("volume", 1e308)
        store.set_setting("language", {"a": 1})
    finally:
        store.close()
    core.start()
    with core.client() as c:
        hello = c.request("hello")
        assert hello["elder_name"] == "" and hello["language"] == "en"
        assert c.request("settings.get")["volume"] == 1.0
        c.request("settings.get")
    assert core.log().count("stored setting elder_name is not valid") == 1


def test_a_lone_surrogate_stored_earlier_does_not_break_hello(core):
    core.kill()
    db = Store(core.state_dir / "hub.db", reserve_bytes=1)
    try:
        db.db.execute("UPDATE settings SET value = ? WHERE key = ?", ['"\\ud800"', "x"])
        db.set_setting("elder_name", "\ud800")  # json.dumps escapes it; it loads back lone
    finally:
        db.close()
    core.start()
    for _ in range(2):
        with core.client() as c:
            assert c.request("hello")["elder_name"] == ""


# -- clients that do not read, and too many clients ---------------------------------------

@pytest.mark.slow
def test_a_pipelining_client_cannot_grow_the_core_or_stall_its_shutdown(core):
    core.kill()
    store = Store(core.state_dir / "hub.db", reserve_bytes=1)
    try:
        store.add_readings([{"kind": "spo2", "values": {"spo2": 97, "pulse": 60 + i % 30},
                             "units": {"spo2": "%", "pulse": "/min"},
                             "extra": {"note": "n" * 200}} for i in range(2000)])
    finally:
        store.close()
    core.start()
    pid = core.proc.pid
    start_rss = rss_kib(pid)
    hog = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    hog.connect(str(core.socket))
    hog.setblocking(False)
    line = b'{"id":1,"cmd":"readings.list","args":{"limit":5000}}\n'
    sent, end = 0, time.monotonic() + 4
    while time.monotonic() < end:  # pipeline as fast as the core takes them; never read
        try:
            sent += hog.send(line * 64)
        except BlockingIOError:
            time.sleep(0.05)
    grown_mb = (rss_kib(pid) - start_rss) / 1024
    with core.client() as c:  # everyone else is still served
        assert c.request("ping") == {}
        assert c.request("sos.press")["state"] == "countdown"
    assert grown_mb < 40, f"core grew {grown_mb:.0f} MB under a pipelining client"
    more = []
    for _ in range(8):  # queued database reads must not hold up the stop either
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(str(core.socket))
        s.sendall(line * 4)
        more.append(s)
    time.sleep(0.5)
    began = time.monotonic()
    assert core.terminate(timeout=20) == 0
    took = time.monotonic() - began
    for s in [hog, *more]:
        s.close()
    assert took < 8, f"SIGTERM took {took:.1f} s with clients that do not read"


@needs_root
@pytest.mark.slow
def test_idle_connections_cannot_take_the_file_handles_of_the_alarm(open_core):
    if not shutil.which("prlimit"):
        pytest.skip("prlimit (util-linux) is needed to give the core a small fd limit")
    core = open_core(prefix=["prlimit", "--nofile=256:256", "--"],
                     hub={"max_clients": 1000, "max_clients_per_user": 1000})
    path, pid = str(core.socket), core.proc.pid
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # a group member (uid nobody) opens 400 connections and holds them
        try:
            os.close(read_end)
            os.setgroups([NOGROUP])
            os.setgid(NOGROUP)
            os.setuid(NOBODY)
            socks = []
            for _ in range(400):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(path)
                socks.append(s)
            time.sleep(1.5)  # the core answers the ones over its limit with `busy`
            held, busy = [], 0
            for s in socks:
                s.setblocking(False)
                try:
                    busy += b'"busy"' in s.recv(4096)
                    s.close()
                except BlockingIOError:  # nothing to read: a held connection
                    held.append(s)
            os.write(write_end, json.dumps({"held": len(held), "busy": busy}).encode())
            time.sleep(30)  # keep them open while the parent presses SOS
        finally:
            os._exit(0)
    os.close(write_end)
    try:
        ready, _, _ = select.select([read_end], [], [], 90)
        assert ready, "the child did not finish connecting"
        counts = json.loads(os.read(read_end, 4096))
        assert counts["busy"] > 0 and counts["held"] < 200, counts
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        assert 256 - fds >= 64, f"only {256 - fds} file handles left for the alarm path"
        with core.client() as c:  # root still gets in, and the alarm goes on
            assert c.request("sos.press")["state"] == "countdown"
            assert c.request("status")["sos"]["state"] == "countdown"
    finally:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
        os.close(read_end)
    log = core.log()
    assert "Too many open files" not in log and "out of system resource" not in log
    assert log.count("refused a local API connection") <= 3
    assert len(log) < 200_000


@needs_root
def test_one_user_cannot_take_every_connection(open_core):
    core = open_core(hub={"max_clients_per_user": 2})
    path = str(core.socket)

    def connect_four():
        socks, replies = [], []
        for i in range(4):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            socks.append(s)
            s.settimeout(0.5)
            try:  # a refused connection is told at once, unasked, then closed
                first = s.recv(4096)
            except TimeoutError:
                first = b""
            if first:
                replies.append(json.loads(first.split(b"\n")[0]))
                continue
            replies.append(exchange(s, {"id": i, "cmd": "ping"}, timeout=5))
        try:  # the blocking client says why, instead of "closed the connection"
            ApiClient(path, timeout=5).connect().request("ping")
            replies.append("served")
        except ApiError as exc:
            replies.append(str(exc))
        return replies

    replies = as_user(connect_four)
    assert [r.get("ok") for r in replies[:2]] == [True, True]
    assert all(r.get("code") == "busy" and "max_clients_per_user" in r["error"]
               for r in replies[2:4]), replies
    assert "max_clients_per_user" in replies[4]
    with core.client() as c:
        assert c.request("ping") == {}


# -- the database is the core's alone --------------------------------------------------------------

def test_database_files_are_private_to_the_core(core):
    with core.client() as c:
        c.request("checkin")
    state = core.state_dir
    assert stat.S_IMODE(state.stat().st_mode) == 0o750  # the socket group reaches the socket
    for name in ("hub.db", "hub.db-wal", "hub.db-shm"):
        mode = stat.S_IMODE((state / name).stat().st_mode)
        assert mode == 0o600, f"{name} is {mode:o}"
    core.kill()
    (state / "hub.db").chmod(0o644)  # a database from an older core
    core.start()
    assert stat.S_IMODE((state / "hub.db").stat().st_mode) == 0o600


@needs_root
def test_another_user_cannot_read_the_database(open_core, shared_dir):
    core = open_core(hub={"state_dir": str(shared_dir / "state")})
    with core.client() as c:
        c.request("checkin")
    db = str(shared_dir / "state" / "hub.db")

    def try_read():
        try:
            open(db, "rb").close()
            return "read"
        except PermissionError:
            return "denied"

    assert as_user(try_read, gid=0) == "denied"  # even with the core's group


# -- the log filter ----------------------------------------------------------------------------------

def test_repeated_log_lines_are_rate_limited():
    now = [0.0]
    filt = RepeatFilter(window=60, burst=3, clock=lambda: now[0])

    def record(msg="accept failed: %s", args=("EMFILE",)):
        return logging.LogRecord("asyncio", logging.ERROR, __file__, 10, msg, args, None)

    passed = [filt.filter(record()) for _ in range(1000)]
    assert passed[:3] == [True] * 3 and not any(passed[3:])
    assert filt.filter(record("something else")) is True
    now[0] = 61
    first = record()
    assert filt.filter(first) is True
    assert "997 more like this" in first.getMessage()
