"""Privacy: Shopify's GDPR webhooks (export, redact), what an erasure deletes besides rows,
and re-encrypting sealed columns to a new key.
"""
