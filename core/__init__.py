"""Foundations every app package shares (app env): settings, database, clock, labels, taxonomy."""
