"""Shops: install and token exchange, the shop's profile and settings, the home screen's setup
checklist and overview, the storefront's app-data metafields, and the one lookup of a shop's
row by id.

- auth.py: install and token exchange (starts the Shopify import and the metafields sync)
- tokens.py: the offline token: sealed, refreshed before expiry, refused -> re-authorise
- shops.py: installation records and profile
- settings.py: reading and changing a shop's settings through the one settings schema
- owned.py: "this shop's row with this id" (another shop's id is a 404)
- setup.py, overview.py: the home screen's setup checklist and its one-answer summary
- storefront_metafields.py: the app-data metafields the theme blocks read, written to Shopify
- storefront_sync.py: when they are rewritten (settings changes, install, shop/update)

May import: billing (credits), campaigns (the home screen's figures), contacts (join page,
phones, the install's import), sending (senders). Most packages import shops.tokens/settings.
"""
