"""Shopify webhooks: recording each delivery once, the handler of every topic, and their
retention.

- webhook_intake.py: a delivery recorded once (by webhook id), then processed in a job
- webhook_inbox.py: the signal from intake to processing (a Redis inbox per partition of shops,
  drained by one job at a time: a shop's events in arrival order)
- topics.py: the topic -> handler registry (`handles`, `HANDLERS`)
- webhook_handlers.py: what each topic does; every handler is idempotent
- webhook_events.py: deleting recorded deliveries past their retention

May import: automations, billing, campaigns, contacts, privacy, shops: the handlers are where
Shopify's events reach every domain. Among services only privacy (key rotation) imports webhooks.
"""
