"""Grids (网格) (app env): the registry, resolving places and GPS points, the grid API."""
