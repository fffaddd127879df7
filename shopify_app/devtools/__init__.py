"""Development-only helpers, the `flask dev ...` commands (`commands.py`).

They play, on a laptop, what Shopify and Mitto would send: session tokens, signed app-proxy
URLs and webhooks (`signing.py`, with the samples in `webhook_samples.py`), a shopper's reply
and a delivery report, and an install without Shopify (`local.py`). Every command refuses to
run with APP_ENV=production: they sign with the app's own secrets.
"""
