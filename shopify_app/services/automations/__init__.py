"""Automations: texts that send themselves when something happens in the shop (orders,
checkouts, back in stock, birthdays), and the shop's commerce records they react to.

- automations.py: the front door for callers outside the package (no code of its own)
- definitions.py: the automations there are, as data; a shop's automation rows and carrier campaigns
- settings.py: the merchant's settings: list, edit, turn on and off, runs; all off at uninstall
- triggers.py: recording runs (once per trigger key), the events that trigger or cancel them
- dispatch.py: due runs -> message rows of the carrier campaign, enqueued on the send path
- daily.py: the daily birthday and win-back pass
- inbox.py: the merchant's inbox replies, sent as runs of the inbox-reply automation
- notices.py: the app's own texts (keyword answers, opt-in confirmations) as runs of internal automations
- commerce.py: orders, checkouts and fulfillments from Shopify, and the triggers they fire
- stock.py: stock levels and back-in-stock requests

May import: campaigns (templates, waiting), contacts, ops, sending, shops. triggers.py imports
nothing of campaigns or sending, so whatever tells of events reaches it without a cycle.
"""
