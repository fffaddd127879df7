"""Billing: Shopify app subscriptions and credit packs, the plans as data, and the prepaid
credit ledger.

- billing.py: the front door for callers outside the package (no code of its own)
- shopify_billing.py: the Shopify Billing API calls every charge goes through
- subscriptions.py: plan subscriptions, their status, each cycle's included credits
- packs.py: one-time credit packs
- overage.py: capped overage bought when a launch lacks credits, and any usage-record purchase
- usage_cap.py: the usage line item's cap (the plan's, or a raise the merchant approved)
- cycles.py: the 30-day billing cycles
- spend.py: spend controls: the settings, the low-balance alert, auto-recharge, automation skips
- spend_cap.py: the stored spend settings and the per-cycle spend cap the ledger enforces
- spend_email.py: the low-balance email through SMTP_URL
- overview.py: the billing page and the ledger
- credits.py: the credit ledger (balance, holds, debits, refunds)
- plans.py: the plans and packs as data, credits per segment by country

May import: ops, shops (for admin_query). Never campaigns, automations or sending (they build on
billing).
"""
