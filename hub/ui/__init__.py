"""The touchscreen kiosk (Kivy): a client of the core's local API, never of the DB or devices.

Entry point: :func:`hub.ui.app.run_kiosk` (``hub kiosk``). Screens are one module and
one ``.kv`` file each; the elder-friendly rules live in :mod:`hub.ui.theme`.

Kivy reads some settings from the environment when it is first imported, so they are
given defaults here, before any ``import kivy``: Kivy must not parse the hub's own
command line (``KIVY_NO_ARGS``) and must leave Python's logging alone
(``KIVY_LOG_MODE=PYTHON``: the hub's log handlers, journald under systemd, stay in charge).
"""

import os

os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
os.environ.setdefault("KIVY_CLIPBOARD", "sdl2")
# Kivy's image loaders: SDL2_image reads every picture the kiosk shows (Kivy's own theme
# atlas, PNG). Without this Kivy also loads its PIL and ffpyplayer loaders, and PIL pulls in
# numpy: ~0.2 s of start-up and ~10 MiB of RSS for nothing (issue 12).
os.environ.setdefault("KIVY_IMAGE", "tex,dds,sdl2")
