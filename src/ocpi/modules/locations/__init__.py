"""The locations module."""
