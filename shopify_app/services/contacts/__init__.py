"""Contacts and their consent: the sealed records (phones by blind index), CSV import and
export, storefront sign-up and the join page, inbound texts (keywords, the inbox), and the
sync of SMS consent with Shopify's customers.
"""
