"""Sending texts: the send loop, the batch jobs it runs in, the circuit breaker, rate limits,
quiet hours, composing a text, delivery reports, and settling unknown outcomes.

- batch.py: one batch, start to end (claim -> plan -> compose -> answer), recorded before the call
- claim.py: the campaign, its shop, the rows locked for this batch and their contacts (or a
  recipient that is no contact: TestRecipient)
- policy.py: the per-message rules re-checked at send time (consent, frequency cap...)
- plan.py: each row's decision: skip, defer, rate-limit tokens and the breaker, credits held
- compose.py: the texts (values, footer, short links) as the provider gets them
- attempts.py: the record path's send_attempts rows
- answer.py: the provider call and what its answer proves (sent, failed, retry, unknown)
- state.py: every message-state write, guarded by the allowed prior states
- completion.py: a campaign finished when nothing is left to send
- sweeper.py: the periodic safety net (leases expired, deferrals due, batches lost)
- batches.py: enqueueing a campaign's batch jobs, and knowing one already waits
- circuit.py, ratelimit.py, quiet_hours.py: the breaker, the token buckets, the recipient's night
- rendering.py, templating.py: templates and their variables; segment counting and compliance text
- links.py: short links per message; senders.py, shop_senders.py: which number a text goes from
- delivery.py: delivery reports, matched on our reference first; resolution.py: unknown settled

May import: billing (credits, plans), campaigns (the campaign's own pieces: discounts, test
sends, the report cache), contacts (phones, keyword_recipients), ops (alerts), shops (settings).
"""
