"""Business rules. Keyword-only functions; no Flask request objects in here."""
