"""Hardware the hub reads: the GPIO SOS button and Bluetooth health devices.

Each kind of hardware sits behind a seam (gpiozero pin factory, a BLE backend) so that
tests and ``--simulate`` drive the same code. Sub-packages: :mod:`hub.sensors.ble`.
"""

__all__ = ["ble", "gpio"]
