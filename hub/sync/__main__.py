"""``python -m hub.sync``: run the sync worker alone, without the core daemon.

For bench tests, the kill test and a technician who wants to push a hub's outbox
to the platform by hand. It runs :class:`~hub.sync.worker.SyncWorker` on the
configured database until SIGTERM or Ctrl-C; inbox messages are stored with
:meth:`Store.inbox_add` (no core applies them).
"""

import argparse
import logging
import signal
import sys
import threading

from hub.config import load_config
from hub.errors import ConfigError
from hub.sync.worker import SyncWorker


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the worker until a signal, stop it. Returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m hub.sync", description=__doc__.split("\n")[0])
    parser.add_argument("--config", help="configuration file (default /etc/hub/hub.toml)")
    parser.add_argument("--exit-when-empty", action="store_true",
                        help="stop once the outbox holds nothing pending")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(threadName)s %(name)s: %(message)s")
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"hub sync: {exc}", file=sys.stderr)
        return 2
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    worker = SyncWorker(config)
    worker.start()
    try:
        while not done.wait(0.5):
            if args.exit_when_empty:
                outbox = worker.status().get("outbox") or {}
                if outbox.get("depth") == 0:
                    break
    finally:
        worker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
