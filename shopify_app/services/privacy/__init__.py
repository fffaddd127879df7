"""Privacy: Shopify's GDPR webhooks (export, redact), a merchant's privacy tools, retention,
what an erasure deletes besides rows, and re-encrypting sealed columns to a new key.

    privacy.py        the names webhooks, blueprints and jobs call (re-exported from below)
    matching.py       whom a request names: contacts by Shopify id, phone and email
    data_requests.py  customers/data_request and a merchant's export of a customer's data
    redaction.py      customers/redact, shop/redact and a merchant's erasure
    leftovers.py      the files and caches an erasure deletes besides rows
    retention.py      rows deleted once past their use (periodic)
    key_rotation.py   re-encrypting every sealed column to the newest key

Other service packages these modules may import: contacts, ops (audit), campaigns
(report_cache, in leftovers) and webhooks (the payload's sealing, in key_rotation). Only
webhooks (the GDPR topics) import privacy.
"""
