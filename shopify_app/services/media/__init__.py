"""Images for MMS campaigns: checked and re-encoded (images.py), stored and served (media.py),
and what attaching one changes in a campaign's pricing and texts (mms.py)."""
