"""Flows that span modules and partners (real-time authorization, ...)."""
