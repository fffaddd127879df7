"""Sending texts: the send loop (claim, re-check, rate limits, the provider call, the answer), the
batches it runs in, the circuit breaker, quiet hours, composing a text (templating, short
links, the sender), delivery reports, and settling unknown outcomes.
"""
