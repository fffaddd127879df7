"""Campaigns: drafts, estimates, launch and its lifecycle; the segments and saved templates they
use, discount codes, the merchant's test sends, and the reports (with order attribution).
"""
