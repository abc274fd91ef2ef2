"""Filled in by the accounts / social work."""
