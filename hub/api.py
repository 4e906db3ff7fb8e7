"""The core's local API: JSON lines over a Unix socket, and a blocking client for it.

Protocol (documented for humans in ``docs/local-api.md``):

* one JSON object per line, UTF-8, at most :data:`MAX_LINE` bytes;
* request ``{"id": 7, "cmd": "sos.press", "args": {...}}``;
* response ``{"id": 7, "ok": true, "result": {...}}`` or
  ``{"id": 7, "ok": false, "error": "words", "code": "bad_request"}``;
* after ``subscribe``, pushes ``{"push": "sos", "data": {...}}`` arrive between responses.

The kiosk and the voice process use :class:`ApiClient`; they never open the database.
"""

import itertools
import json
import queue
import socket
import threading
from collections.abc import Callable

from hub.errors import ApiError

__all__ = ["ApiClient", "MAX_LINE", "COMMANDS", "TOPICS", "encode", "MEMBER_COMMANDS",
           "PIN_COMMANDS", "RESERVED_SOURCES"]

MAX_LINE = 256 * 1024
TOPICS = ("sos", "sync", "reading", "inbox", "say", "settings", "prompt", "devices", "core",
          "voice", "speaker")
COMMANDS = {
    "hello": "version, language, elder's name, SOS and sync state, and this connection's role "
             "(args: client kiosk|voice|cli, which sets the source of its actions)",
    "ping": "liveness check; the result is empty",
    "subscribe": "start receiving pushes (args: topics, default all); current state is pushed at once",
    "sos.press": "press SOS (args: id optional press id, test bool; the core sets the source)",
    "sos.cancel": "cancel the countdown, or after raising say 'I am safe now' (args: source)",
    "sos.resolve": "end an open alarm (args: source)",
    "sos.state": "the current SOS state",
    "checkin": "record an 'I'm OK' check-in (args: id optional, answer optional)",
    "event.record": "record a care event (args: kind, data, id optional)",
    "reading.add": "store a health reading (args: reading)",
    "readings.latest": "the newest reading of each kind",
    "readings.list": "readings (args: kind, since, limit)",
    "inbox.list": "messages from the platform, newest first",
    "inbox.read": "mark a message read (args: id)",
    "settings.get": "family settings (language, elder_name, text_size, volume, speech_rate, "
                    "home_voice_button)",
    "settings.set": "change one family setting (args: key, value)",
    "status": "what `hub status` shows",
    "say": "speak a text aloud through the core's speaker (args: text)",
    "prompt.answer": "answer an open question shown on the kiosk (args: id, answer)",
    "sync.enroll": "enroll with the care platform (args: url, code, pin: the setup PIN unless "
                   "root or the core's user); the core keeps the token",
    "doctor": "the checks of `hub doctor`, as a list of {name, level, detail, hint}",
    "voice.listen": "the Speak button: the voice process listens for a command for a while "
                    "(error 'failed' when no voice process is connected)",
    "voice.state": "the voice process only: its listening window is open or closed (args: "
                   "listening bool); pushed to 'voice' subscribers with 'alive'",
}


# Roles (docs/local-api.md): root and the core's own user are *admin* and may use every
# command. Any other member of the socket group (the kiosk's and the voice's users) is a
# *member* and may use only what the kiosk and the voice need; a member needs the setup
# PIN for the commands that change where the elder's data goes.
MEMBER_COMMANDS = frozenset({
    "hello", "ping", "subscribe", "sos.press", "sos.cancel", "sos.state", "checkin",
    "event.record", "readings.latest", "readings.list", "inbox.list", "inbox.read",
    "settings.get", "settings.set", "status", "say", "prompt.answer", "doctor", "sync.enroll",
    "gpio.status", "devices.scan", "devices.pair", "devices.passkey", "devices.list",
    "devices.forget", "reminder.list", "reminder.set", "reminder.delete", "voice.listen",
    "voice.state",
    "service.types", "service.request", "service.list", "service.rate", "family.call",
    "consent.get", "consent.set",
})
# Changing what leaves the hub needs the family's PIN (or the hub's own user / root).
PIN_COMMANDS = frozenset({"sync.enroll", "consent.set"})
#: Sources only the core itself records (the GPIO button, the platform, the care rules);
#: no socket client can ever act as one of them.
RESERVED_SOURCES = ("platform", "button", "rules", "hub")


def encode(obj: dict) -> bytes:
    """One protocol line (never fails on a text that is not valid Unicode: it is escaped)."""
    try:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
    except UnicodeEncodeError:
        return json.dumps(obj, ensure_ascii=True, separators=(",", ":")).encode() + b"\n"


class ApiClient:
    """A blocking client for the core's socket.

    Responses are matched to requests by id; pushes go to ``on_push`` (called from the
    reader thread) or, if none is given, to :attr:`pushes` (a queue).

    :param path: the core's socket path.
    :param timeout: seconds to wait for a response.
    """

    def __init__(self, path, *, timeout: float = 5.0,
                 on_push: Callable[[str, dict], None] | None = None):
        self.path = str(path)
        self.timeout = timeout
        self.on_push = on_push
        self.pushes: queue.Queue = queue.Queue()
        self._ids = itertools.count(1)
        self._waiting: dict[int, queue.Queue] = {}
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._reader: threading.Thread | None = None
        self.closed = threading.Event()
        self.refusal: str | None = None  # why the core refused this connection (code busy)

    def connect(self) -> "ApiClient":
        """Connect; raises :class:`ApiError` in words if the core is not there."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.path)
        except (FileNotFoundError, ConnectionRefusedError):
            sock.close()
            raise ApiError(f"the hub core is not running (no socket at {self.path}). "
                           "Start it with `hub core` or `systemctl start hub-core`.") from None
        except PermissionError:
            sock.close()
            raise ApiError(f"not allowed to use {self.path}: add this user to the 'hub' group"
                           ) from None
        sock.settimeout(None)
        self._sock = sock
        self.closed.clear()
        self._reader = threading.Thread(target=self._read, name="api-reader", daemon=True)
        self._reader.start()
        return self

    def __enter__(self):
        return self if self._sock else self.connect()

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Close the connection."""
        sock, self._sock = self._sock, None
        if sock:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def request(self, cmd: str, **args):
        """Send a command and wait for its result.

        :raises ApiError: the core refused it, did not answer in time, or went away.
        """
        if not self._sock:
            raise ApiError("not connected to the hub core")
        req_id = next(self._ids)
        box: queue.Queue = queue.Queue(maxsize=1)
        self._waiting[req_id] = box
        try:
            with self._lock:
                self._sock.sendall(encode({"id": req_id, "cmd": cmd, "args": args}))
            reply = box.get(timeout=self.timeout)
        except queue.Empty:
            raise ApiError(f"the hub core did not answer {cmd} within {self.timeout} s") from None
        except OSError as exc:
            self.closed.wait(1)  # a refusal line may still be on its way to the reader
            raise ApiError(self.refusal or f"lost the connection to the hub core: {exc}"
                           ) from None
        finally:
            self._waiting.pop(req_id, None)
        if reply is None:
            raise ApiError(self.refusal or "the hub core closed the connection")
        if not reply.get("ok"):
            raise ApiError(reply.get("error", "request failed"))
        return reply.get("result")

    def subscribe(self, topics=None):
        """Ask for pushes (all topics by default)."""
        return self.request("subscribe", **({"topics": list(topics)} if topics else {}))

    def wait_push(self, topic: str, predicate: Callable[[dict], bool] = lambda d: True,
                  timeout: float = 5.0) -> dict:
        """Wait (on :attr:`pushes`) for a push of ``topic`` matching ``predicate``."""
        import time

        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no '{topic}' push matching within {timeout} s")
            try:
                got_topic, data = self.pushes.get(timeout=left)
            except queue.Empty:
                continue
            if got_topic == topic and predicate(data):
                return data

    def _read(self):
        sock = self._sock
        buf = sock.makefile("rb")
        try:
            for line in buf:
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue
                if "push" in msg:
                    if self.on_push:
                        self.on_push(msg["push"], msg.get("data") or {})
                    else:
                        self.pushes.put((msg["push"], msg.get("data") or {}))
                elif msg.get("id") in self._waiting:
                    self._waiting[msg["id"]].put(msg)
                elif msg.get("id") is None and msg.get("code") == "busy":
                    self.refusal = msg.get("error")  # then the core closes the connection
        except (OSError, ValueError):
            pass
        finally:
            for box in list(self._waiting.values()):
                try:
                    box.put_nowait(None)
                except queue.Full:
                    pass
            self.closed.set()
