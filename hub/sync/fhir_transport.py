"""The second destination: outbox rows as FHIR R4 ``transaction`` Bundles posted to a FHIR server.

This module owns turning a batch of outbox bodies into one transaction Bundle (via
:mod:`hub.sync.fhir`, which owns the resource shapes) and the server's
transaction-response back into one result per outbox row, so the outbox code
cannot tell the two protocols apart.

* Readings → Observations (Vital Signs profile), one or more per reading.
* ``sos_raised`` → a ``Communication`` with priority ``stat``
  (:func:`hub.sync.fhir.sos_to_communication`).
* Every other event (the later SOS steps, check-ins, alerts, service requests) →
  a ``Communication`` made here, so nothing the hub knows is silently dropped on
  this route. Its text names the event; its priority is ``stat`` for SOS steps,
  ``urgent`` for alerts, ``routine`` otherwise.

Every entry is a conditional create (``ifNoneExist`` on the identifier): a replayed
batch creates nothing new (hl7.org/fhir/R4/http.html#ccreate). A transaction is
all-or-nothing, so a resource the server refuses makes it answer 400/422 for the
whole Bundle; the outbox then splits the batch until the culprit is alone. A
reading this hub cannot express in FHIR at all (unknown kind, a unit the profile
forbids) is rejected here, before sending, with the mapper's reason.

A FHIR server has no inbox: SOS acknowledgements do not come back on this route.
"""

import json
import logging

from hub.sync import protocol
from hub.sync.client import PlatformClient, RejectedError, Result, TransientError
from hub.sync.fhir import (COMMUNICATION_CATEGORY, EXT_HUB_CLOCK, IDENTIFIER_SYSTEM,
                           HUB_ID_SYSTEM, FhirMappingError, observations_bundle,
                           sos_to_communication)
from hub.sync.outbox import Pending

__all__ = ["FhirTransport", "resources_for"]

log = logging.getLogger(__name__)

_CLOCK_CODES = {True: "synchronised", False: "not-synchronised", None: "unknown"}


def _communication_entry(resource: dict) -> dict:
    identifier = resource["identifier"][0]
    return {
        "fullUrl": identifier["value"],
        "resource": resource,
        "request": {
            "method": "POST",
            "url": "Communication",
            "ifNoneExist": f"identifier={identifier['system']}|{identifier['value']}",
        },
    }


def _event_communication(body: dict, *, patient_ref: str, hub_id: str) -> dict:
    """A Communication for an event the FHIR mapper has no special shape for."""
    kind = body.get("type", "event")
    data = body.get("data") or {}
    text = f"Home hub event: {kind.replace('_', ' ')}"
    if body.get("sos_id"):
        text += f" (alarm {body['sos_id']})"
    if data:
        text += ". Details: " + json.dumps(data, ensure_ascii=False, sort_keys=True)
    clock = body.get("clock_synced") if isinstance(body.get("clock_synced"), bool) else None
    priority = "stat" if kind.startswith("sos_") else "urgent" if kind == "alert" else "routine"
    return {
        "resourceType": "Communication",
        "extension": [{"url": EXT_HUB_CLOCK, "valueCode": _CLOCK_CODES[clock]}],
        "identifier": [{"system": IDENTIFIER_SYSTEM, "value": f"urn:uuid:{body['id']}"}],
        "status": "completed",
        "category": [{"coding": [{"system": COMMUNICATION_CATEGORY,
                                  "code": "alert" if priority != "routine" else "notification"}]}],
        "priority": priority,
        "subject": {"reference": patient_ref},
        "sent": body["occurred_at"],
        "sender": {"type": "Device", "identifier": {"system": HUB_ID_SYSTEM, "value": hub_id},
                   "display": "Home hub"},
        "payload": [{"contentString": text}],
    }


def resources_for(body: dict, *, patient_ref: str, hub_id: str) -> list[dict]:
    """Return the transaction entries for one outbox body.

    :raises FhirMappingError: the body cannot be expressed in FHIR.
    """
    if body.get("type") == "reading":
        bundle = observations_bundle([body], patient_ref=patient_ref, hub_id=hub_id,
                                     bundle_type="transaction")
        return bundle.get("entry", [])
    reason = protocol.validate_event(body)
    if reason:
        raise FhirMappingError(f"event {body.get('id')!r}: {reason}")
    if body["type"] == "sos_raised":
        data = body.get("data") or {}
        source = data.get("source") or body.get("source")
        event = {"id": body["id"], "kind": "sos", "occurred_at": body["occurred_at"],
                 "clock_synced": body.get("clock_synced"),
                 "payload": {**data, **({"source": source} if source else {})}}
        return [_communication_entry(
            sos_to_communication(event, patient_ref=patient_ref, hub_id=hub_id))]
    return [_communication_entry(_event_communication(body, patient_ref=patient_ref,
                                                      hub_id=hub_id))]


class FhirTransport:
    """Posts batches as FHIR transaction Bundles; one result per outbox row.

    :param client: a client whose URL is the FHIR base (``https://fhir.example/R4``).
    :param hub_id: this hub's id (gateway device, sender).
    :param patient_ref: the elder's FHIR reference, e.g. ``Patient/123``.
    """

    name = "fhir"

    def __init__(self, client: PlatformClient, *, hub_id: str, patient_ref: str):
        self.client = client
        self.hub_id = hub_id
        self.patient_ref = patient_ref

    def send(self, items: list[Pending], *, urgent: bool) -> list[Result]:
        """Send one batch as one transaction."""
        results: list[Result | None] = [None] * len(items)
        entries, owner = [], []
        for i, item in enumerate(items):
            try:
                mine = resources_for(item.body, patient_ref=self.patient_ref, hub_id=self.hub_id)
            except FhirMappingError as exc:
                results[i] = Result(item.id, protocol.REJECTED, f"cannot be sent as FHIR: {exc}")
                continue
            entries.extend(mine)
            owner.extend([i] * len(mine))
        if entries:
            try:
                answer = self.client.post_fhir(
                    {"resourceType": "Bundle", "type": "transaction", "entry": entries},
                    urgent=urgent)
            except TransientError as exc:
                if exc.status != 412:
                    raise
                # 412: the server already holds some resource more than once, so the
                # conditional create cannot decide. The data is there; isolate the row.
                if len(items) > 1:
                    raise RejectedError("412 on a batch", status=412, reason="412") from None
                return [Result(items[0].id, protocol.DUPLICATE,
                               "the FHIR server holds it more than once (412)")]
            statuses = self._statuses(answer, len(entries))
            created = [False] * len(items)
            failed = [None] * len(items)
            for i, status in zip(owner, statuses):
                if status.startswith("201"):
                    created[i] = True
                elif not status.startswith("2"):
                    failed[i] = status
            for i, item in enumerate(items):
                if results[i] is not None:
                    continue
                if failed[i]:
                    results[i] = Result(item.id, protocol.RETRY, f"FHIR entry {failed[i]}")
                else:
                    results[i] = Result(item.id,
                                        protocol.ACCEPTED if created[i] else protocol.DUPLICATE)
        return results  # type: ignore[return-value]

    def _statuses(self, answer: dict, n: int) -> list[str]:
        entries = answer.get("entry") if answer.get("resourceType") == "Bundle" else None
        if not isinstance(entries, list) or len(entries) != n:
            raise TransientError(
                f"{self.client.host} answered the transaction without one response per entry",
                kind="server")
        out = []
        for e in entries:
            status = (e.get("response") or {}).get("status") if isinstance(e, dict) else None
            out.append(str(status or ""))
        return out
