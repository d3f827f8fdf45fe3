"""The versions module (version list and version details)."""
