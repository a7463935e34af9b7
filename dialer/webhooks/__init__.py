"""Webhooks to a CRM: events from the outbox (:mod:`dialer.storage.outbox`), signed
(:mod:`.signing`) and delivered by a background task (:mod:`.delivery`).  docs/webhooks.md."""
