"""The touchscreen kiosk (Kivy): a client of the core's local API, never of the DB or devices."""
