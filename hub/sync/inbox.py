"""Reading the platform's inbox: SOS acknowledgements, reminders, messages, settings.

This module owns one poll: fetch the messages after the stored cursor, hand each
one, in order, to ``apply`` (which returns only once the message is durably
applied), and only then store the cursor past it — so a crash between the two
replays the message, and applying by id (:meth:`Store.inbox_add`) makes the
replay harmless. It does not decide when to poll (:mod:`hub.sync.worker`) or what
a message means (the core does).
"""

import logging
from collections.abc import Callable

from hub.sync.client import PlatformClient
from hub.sync.protocol import validate_inbox_message

__all__ = ["CURSOR_KEY", "poll_inbox"]

log = logging.getLogger(__name__)

#: Runtime key holding the cursor after the last applied message.
CURSOR_KEY = "sync.inbox_cursor"


def poll_inbox(store, client: PlatformClient, apply: Callable[[dict], None], *,
               page_size: int = 100, max_pages: int = 20) -> int:
    """Fetch and apply new inbox messages.

    A message that is malformed is logged and skipped (the cursor moves past it):
    one bad message must not stop every later acknowledgement.

    :param store: the worker thread's store (holds the cursor).
    :param apply: ``apply({"id", "kind", "data"})``; raising stops the poll before the
        cursor moves past that message.
    :returns: how many messages were applied.
    :raises TransientError, AuthError: from the client.
    """
    cursor = store.get_runtime(CURSOR_KEY)
    applied = 0
    for _ in range(max_pages):
        answer = client.fetch_inbox(cursor, limit=page_size)
        messages = answer["messages"]
        for raw in messages:
            reason = validate_inbox_message(raw)
            if reason:
                log.warning("skipping an inbox message: %s", reason)
            else:
                message = {"id": raw["id"], "kind": raw["kind"], "data": raw.get("data") or {}}
                apply(message)
                applied += 1
                log.info("applied inbox message %s (%s)", raw["id"], raw["kind"])
            if isinstance(raw, dict) and raw.get("cursor"):
                cursor = str(raw["cursor"])
                store.set_runtime(CURSOR_KEY, cursor)
        nxt = answer.get("next_cursor")
        if nxt and str(nxt) != cursor:
            cursor = str(nxt)
            store.set_runtime(CURSOR_KEY, cursor)
        if not answer.get("more") or not messages:
            break
    return applied
