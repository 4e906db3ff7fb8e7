"""Getting the hub's facts to the community care platform: outbox, platform client, FHIR mapping.

Modules, one job each:

* :mod:`hub.sync.protocol` — the ``/v1`` wire contract (paths, result words, validation);
  ``docs/platform-api.yaml`` is the same contract as OpenAPI 3.
* :mod:`hub.sync.client` — HTTP over one ``requests.Session``; errors sorted by what to do.
* :mod:`hub.sync.outbox` — one delivery pass: batches, per-event results, dead letters.
* :mod:`hub.sync.fhir_transport` — the same pass as FHIR transaction Bundles.
* :mod:`hub.sync.fhir` — FHIR R4 resource shapes (Observations, Communication).
* :mod:`hub.sync.inbox` — applying platform messages in order, cursor after apply.
* :mod:`hub.sync.worker` — :class:`SyncWorker`, the threads the core starts.
* :mod:`hub.sync.enroll` — enrollment and the 0600 token file.
* :mod:`hub.sync.receiver` — the reference platform on 127.0.0.1.
* :mod:`hub.sync.cli` — ``hub enroll``, ``hub platform-dev``, ``hub export --fhir``.

Names are imported lazily, so ``import hub.sync`` stays cheap for the kiosk-free
core and for ``python -m hub.sync``.
"""

import importlib

# (``enroll`` is left out on purpose: it is also a sub-module's name.)
__all__ = ["SyncWorker", "PlatformClient", "Receiver", "commands",
           "SyncError", "TransientError", "AuthError", "RejectedError", "EnrollmentError"]

_WHERE = {
    "SyncWorker": "hub.sync.worker",
    "PlatformClient": "hub.sync.client",
    "SyncError": "hub.sync.client",
    "TransientError": "hub.sync.client",
    "AuthError": "hub.sync.client",
    "RejectedError": "hub.sync.client",
    "EnrollmentError": "hub.sync.client",
    "Receiver": "hub.sync.receiver",
    "commands": "hub.sync.cli",
}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'hub.sync' has no attribute {name!r}")
