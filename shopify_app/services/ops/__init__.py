"""Operations: alerts, `flask doctor`, failed jobs, readiness checks, the audit log, keyset
pagination shared by every list, and the demo shop.
"""
