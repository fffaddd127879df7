"""See docs/architecture.md: the layout of the house."""
