"""Sending texts: the send loop (batch.py runs one batch through claim, policy, plan, compose,
attempts, answer and state; completion and the sweeper around it), the batch jobs it runs in,
the circuit breaker, rate limits, quiet hours, composing a text (rendering, templating, short
links, the sender), delivery reports, and settling unknown outcomes.
"""
