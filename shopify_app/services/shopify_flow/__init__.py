"""Shopify Flow: our triggers (sent with `flowTriggerReceive` to shops whose workflows use them)
and our actions (requests Flow sends us, recorded once per action run, done by a job).

definitions.py names the extensions (handles, payload keys) as extensions/*/shopify.extension.toml
declare them; lifecycle.py keeps which triggers each shop's enabled workflows use; triggers.py
listens for the events and sends the triggers; actions.py records and runs the actions.
"""
