"""Shops: install and token exchange, the shop's profile and settings, the home screen's setup
checklist and overview, the storefront's app-data metafields, and the one lookup of a shop's
row by id.
"""
