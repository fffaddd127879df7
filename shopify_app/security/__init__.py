"""See DESIGN.md: the layout of the house."""
