"""Operations: alerts, `flask doctor`, failed jobs, readiness checks, the audit log, keyset
pagination shared by every list, and the demo shop.

- alerts.py: operator alerts to ALERT_WEBHOOK_URL, one per cool-down
- doctor.py: what an operator checks after a deploy, as one table
- failed_jobs.py: every queue's parked failures, retried or discarded
- readiness.py: the dependency checks of /health/ready
- audit.py: the append-only audit log (ids and counts only)
- pagination.py: keyset pagination by id with an opaque cursor, for every list
- demo.py, demo_history.py: the demo shop for local development (`flask seed-demo`)

May import any service package (the doctor and the demo look at everything); the others import
only alerts, audit and pagination from here.
"""
