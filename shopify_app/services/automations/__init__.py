"""Automations: texts that send themselves when something happens in the shop (orders,
checkouts, back in stock, birthdays), and the shop's commerce records they react to.
"""
