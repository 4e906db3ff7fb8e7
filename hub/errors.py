"""Every named exception of the hub lives here, so callers know what they can catch."""

__all__ = ["HubError", "ConfigError", "StoreError", "StorageFullError", "ApiError"]


class HubError(Exception):
    """Base class: a problem the hub can explain to a person."""


class ConfigError(HubError):
    """The configuration file is missing, unreadable or has a bad value.

    The message names the key and the allowed values.
    """


class StoreError(HubError):
    """The database cannot be opened or is damaged."""


class StorageFullError(StoreError):
    """The disk is too full to write anything but alarms and check-ins."""


class ApiError(HubError):
    """The core refused a local API request, or cannot be reached."""
