"""Loopback fakes of Shopify and Mitto."""
