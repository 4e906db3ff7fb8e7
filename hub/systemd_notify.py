"""systemd's sd_notify protocol: READY, WATCHDOG, STOPPING, STATUS.

A datagram to ``$NOTIFY_SOCKET`` (sd_notify(3)); a no-op when the hub is not run by
systemd. Written here rather than pulled in as a dependency: it is ten lines and
the safety path should not need another package.
"""

import logging
import os
import socket

__all__ = ["notify", "watchdog_interval"]

log = logging.getLogger(__name__)


def notify(*states: str) -> bool:
    """Send ``READY=1``, ``WATCHDOG=1``, ``STATUS=…`` etc. to systemd.

    :returns: True when sent, False when not running under systemd or it failed.
    """
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # abstract namespace
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall("\n".join(states).encode())
        return True
    except OSError as exc:
        log.warning("sd_notify to %s failed: %s", address, exc)
        return False


def watchdog_interval() -> float | None:
    """Seconds between watchdog pings (half of ``WATCHDOG_USEC``), or None if not asked."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return int(usec) / 2_000_000
    except ValueError:
        return None
