"""Family setup, page 3: the care routines (reminders, privacy) and the hub check.

Reached from Setup page 2's **More**; a page of four big buttons. The pages it leads
to are :mod:`hub.ui.care_reminders` and :mod:`hub.ui.care_consent`.
"""

from hub.ui.widgets import HubScreen

__all__ = ["CareSetupScreen", "SCREENS"]


class CareSetupScreen(HubScreen):
    """Reminders, Privacy, Check the hub, Back."""

    family = True


SCREENS = [CareSetupScreen]
