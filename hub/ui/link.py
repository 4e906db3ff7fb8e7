"""The kiosk's line to the core: one connection kept open for ever; requests off the main thread.

The kiosk is a client of the core's local API only (:class:`hub.api.ApiClient`).
This module owns the threads that talk to it, so the screen never freezes on a slow
or missing core:

* a *connector* thread connects, says ``hello``, subscribes, then watches the
  connection (a ``ping`` every few seconds); when the core goes away it reports
  "disconnected" and tries again with a short backoff — for ever;
* requests run on worker threads: one lane only for SOS (never queued behind a slow
  request), one for everything else; ``slow`` requests (a Bluetooth scan, the
  doctor) use a connection of their own with a long timeout;
* every result, push and state change is handed to Kivy's main thread with
  ``Clock.schedule_once`` — nothing here touches a widget.

It knows nothing about screens.
"""

import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable

from hub.api import ApiClient
from hub.errors import ApiError

__all__ = ["CoreLink"]

log = logging.getLogger(__name__)


def _on_main(fn: Callable, *args):
    """Run ``fn(*args)`` on Kivy's main thread at the next frame."""
    from kivy.clock import Clock

    Clock.schedule_once(lambda _dt: fn(*args), 0)


class CoreLink:
    """A self-healing connection to the core.

    :param path: the core's socket path.
    :param on_push: ``on_push(topic, data)``, on the main thread.
    :param on_connected: ``on_connected(hello)``, on the main thread, after each (re)connect.
    :param on_disconnected: ``on_disconnected(reason)``, on the main thread.
    :param timeout: seconds to wait for an ordinary answer.
    """

    RETRY_MIN, RETRY_MAX = 0.25, 2.0
    PING_EVERY = 5.0

    def __init__(self, path, *, on_push: Callable[[str, dict], None],
                 on_connected: Callable[[dict], None],
                 on_disconnected: Callable[[str], None], timeout: float = 5.0):
        self.path = str(path)
        self.on_push = on_push
        self.on_connected = on_connected
        self.on_disconnected = on_disconnected
        self.timeout = timeout
        self.client: ApiClient | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sos_lane = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="api-sos")
        self._lane = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="api")
        self._slow_lane = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="api-slow")
        self.last_error = ""

    # -- the connection -------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True while a connection is open."""
        c = self.client
        return c is not None and not c.closed.is_set()

    def start(self):
        """Start connecting (and reconnecting) in the background."""
        if self._thread and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="core-link", daemon=True)
        self._thread.start()

    def stop(self):
        """Close the connection and stop reconnecting."""
        self._stop.set()
        client, self.client = self.client, None
        if client:
            client.close()
        if self._thread and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._thread = None

    def retarget(self, path):
        """Talk to a core at another socket path from now on (reconnects)."""
        self.stop()
        self.path = str(path)
        self.start()

    def _run(self):
        delay = self.RETRY_MIN
        was_connected = None
        while not self._stop.is_set():
            client = ApiClient(self.path, timeout=self.timeout, on_push=self._push)
            try:
                client.connect()
                # The core records the kiosk's actions as "touch" from this (docs/local-api.md).
                hello = client.request("hello", client="kiosk")
                client.subscribe()
            except (ApiError, OSError) as exc:
                client.close()
                self.last_error = str(exc)
                if was_connected is not False:
                    log.info("core not reachable: %s", exc)
                    _on_main(self.on_disconnected, str(exc))
                    was_connected = False
                self._stop.wait(delay)
                delay = min(self.RETRY_MAX, delay * 2)
                continue
            self.client = client
            delay = self.RETRY_MIN
            was_connected = True
            log.info("connected to the core at %s", self.path)
            _on_main(self.on_connected, hello)
            self._watch(client)
            self.client = None
            client.close()
            if not self._stop.is_set():
                log.warning("lost the connection to the core; reconnecting")
                _on_main(self.on_disconnected, "the hub core went away")
                was_connected = False

    def _watch(self, client: ApiClient):
        """Return when the connection closes or stops answering pings."""
        next_ping = time.monotonic() + self.PING_EVERY
        while not self._stop.is_set():
            if client.closed.wait(0.2):
                return
            if time.monotonic() >= next_ping:
                try:
                    client.request("ping")
                except ApiError:
                    return
                next_ping = time.monotonic() + self.PING_EVERY

    def _push(self, topic: str, data: dict):
        if not self._stop.is_set():
            _on_main(self.on_push, topic, data)

    # -- requests ---------------------------------------------------------------------

    def call(self, cmd: str, on_done: Callable | None = None, on_error: Callable | None = None,
             *, lane: str = "normal", **args):
        """Send a command in the background; ``on_done(result)`` or ``on_error(words, code)``
        runs on the main thread.

        :param lane: ``sos`` (its own thread: an alarm never waits), ``normal``, or
            ``slow`` (its own connection with a 60 s timeout: scans, the doctor).
        """
        pool = {"sos": self._sos_lane, "slow": self._slow_lane}.get(lane, self._lane)
        pool.submit(self._do_call, cmd, args, on_done, on_error, lane == "slow")

    def _do_call(self, cmd, args, on_done, on_error, slow):
        try:
            if slow:
                with ApiClient(self.path, timeout=60.0) as own:
                    result = own.request(cmd, **args)
            else:
                client = self.client
                if client is None or client.closed.is_set():
                    raise ApiError("the hub is starting; not connected to the core yet")
                result = client.request(cmd, **args)
        except ApiError as exc:
            words = str(exc)
            code = "unknown_command" if words.startswith("unknown command") else "error"
            log.info("%s failed: %s", cmd, words)
            if on_error:
                _on_main(on_error, words, code)
            return
        except Exception as exc:  # never let a worker die silently
            log.exception("%s failed", cmd)
            if on_error:
                _on_main(on_error, str(exc), "error")
            return
        if on_done:
            _on_main(on_done, result)

    def request_now(self, cmd: str, **args):
        """A blocking request (for tools and tests, never from the main thread)."""
        client = self.client
        if client is None:
            raise ApiError("not connected to the core")
        return client.request(cmd, **args)

    def shutdown(self):
        """Stop everything (the app is closing)."""
        self.stop()
        for pool in (self._sos_lane, self._lane, self._slow_lane):
            pool.shutdown(wait=False, cancel_futures=True)
