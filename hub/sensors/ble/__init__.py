"""Bluetooth LE health devices: pure parsers of SIG health characteristics and their UUIDs.

Modules: :mod:`~hub.sensors.ble.sfloat` (IEEE 11073 numbers),
:mod:`~hub.sensors.ble.parsers` (measurement characteristics, encoders, reading dicts),
:mod:`~hub.sensors.ble.racp` (Record Access Control Point),
:mod:`~hub.sensors.ble.uuids` (assigned numbers and dispatch by UUID).
"""

__all__ = ["sfloat", "parsers", "racp", "uuids"]
