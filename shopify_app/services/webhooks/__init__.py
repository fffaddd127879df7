"""Shopify webhooks: recording each delivery once, the handler of every topic, and their
retention.
"""
