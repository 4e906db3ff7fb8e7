"""Home hub for elders: the core daemon, its store, the SOS state machine and the CLI.

Sub-packages: :mod:`hub.ui` (kiosk), :mod:`hub.sensors` (GPIO and BLE),
:mod:`hub.voice` (speech in and out), :mod:`hub.sync` (the care platform).
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
