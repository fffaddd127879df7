"""Test suite: mirrors the package."""
