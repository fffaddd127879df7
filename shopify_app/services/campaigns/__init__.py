"""Campaigns: drafts, estimates, launch and its lifecycle; the segments and saved templates they
use, discount codes, the merchant's test sends, and the reports (with order attribution).

- campaigns.py: drafts, launch (snapshot + credit hold), pause/resume/cancel, scheduled launches; the front door
- audience.py: a campaign's audience, the estimate a launch holds credits for, the unsubscribe link
- queries.py: reading campaigns (one, under its row lock too), the list, counters, messages, credit figures
- waiting.py: a campaign's rows still waiting to send, and cancelling them (shared with automations, sending)
- segments.py: saved audiences and their filters
- templates.py: saved templates, the live preview, the sample discount code of a preview or test
- test_sends.py: a merchant's test of a campaign to their own phone
- discounts.py: Shopify discount codes, shared or one per recipient
- reports.py, report_cache.py, attribution.py: the reports, their cache, orders credited to texts

May import: billing, contacts, ops, sending, shops. Never automations (they build on campaigns).
"""
