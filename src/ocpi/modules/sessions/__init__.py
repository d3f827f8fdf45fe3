"""The sessions module."""
