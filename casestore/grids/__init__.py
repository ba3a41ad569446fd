"""Grids (网格): the registry of places the bot serves, and location → grid resolution."""
