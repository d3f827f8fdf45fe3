"""OCPI modules: one definition each, serving every version."""
