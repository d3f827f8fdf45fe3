"""Smappee charging parks as OCPI sessions."""
