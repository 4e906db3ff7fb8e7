"""The kiosk's own small state file: what must outlive a kiosk restart but is not the core's.

Today that is the PIN lockout (five wrong family PINs → wait 30 s): if pulling the
plug or killing the kiosk reset the count, the lockout would protect nothing. The
file is JSON, written atomically (temporary file + ``os.replace``). It holds no PIN
and no health data.

Where it lives, first found: ``$HUB_KIOSK_STATE`` (a file path), systemd's
``$STATE_DIRECTORY`` or ``$CACHE_DIRECTORY`` (the kiosk unit has
``CacheDirectory=hub-kiosk``) + ``/kiosk-state.json``, else
``$XDG_STATE_HOME/elder-hub/kiosk-state.json`` (``~/.local/state`` by default).
A file that cannot be read is treated as empty, with a warning; one that cannot be
written is logged and the kiosk carries on (the lockout then lasts until restart).
"""

import json
import logging
import os
import tempfile
from pathlib import Path

__all__ = ["KioskState", "default_path"]

log = logging.getLogger(__name__)


def default_path() -> Path:
    """Where the kiosk keeps its state file (see the module docstring)."""
    if os.environ.get("HUB_KIOSK_STATE"):
        return Path(os.environ["HUB_KIOSK_STATE"])
    for var in ("STATE_DIRECTORY", "CACHE_DIRECTORY"):
        if os.environ.get(var):
            return Path(os.environ[var].split(":")[0]) / "kiosk-state.json"
    base = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    return Path(base) / "elder-hub" / "kiosk-state.json"


class KioskState:
    """A few keys in one JSON file.

    :param path: the file; :func:`default_path` when None.
    """

    def __init__(self, path: Path | str | None = None):
        self.path = Path(path) if path else default_path()
        self._data: dict = {}
        try:
            self._data = json.loads(self.path.read_text())
            if not isinstance(self._data, dict):
                raise ValueError("not a JSON object")
        except FileNotFoundError:
            self._data = {}
        except (OSError, ValueError) as exc:
            log.warning("kiosk state %s unreadable (%s); starting empty", self.path, exc)
            self._data = {}

    def get(self, key: str, default=None):
        """The value stored under ``key``."""
        return self._data.get(key, default)

    def set(self, key: str, value) -> None:
        """Store ``value`` under ``key`` and write the file at once."""
        self._data[key] = value
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".part")
            with os.fdopen(fd, "w") as fh:
                json.dump(self._data, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            log.warning("cannot write the kiosk state %s: %s", self.path, exc)
