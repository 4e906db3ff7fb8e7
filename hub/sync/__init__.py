"""Getting the hub's facts to the community care platform: outbox, platform client, FHIR mapping."""
