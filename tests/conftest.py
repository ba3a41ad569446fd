"""Shared fixtures of the app-environment tests."""
