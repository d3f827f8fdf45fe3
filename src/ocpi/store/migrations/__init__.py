"""Alembic's script directory: ``env.py`` and one revision per schema step.

A package so the revisions ship with ``ocpi``; ``ocpi.store.migrate`` runs them.
"""
