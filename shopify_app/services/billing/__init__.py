"""Billing: Shopify app subscriptions and credit packs, the plans as data, and the prepaid
credit ledger.
"""
