"""The web pixel (`extensions/sms-blossom-pixel`): its connection to each shop, the intake of the
product views it reports, the browse token our short links carry to it, and the
browse-abandonment sweep that turns views nobody bought into flows (docs/browse-abandonment.md)."""
