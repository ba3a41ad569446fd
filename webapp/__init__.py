"""The web app's composition root (app env): app factory, readiness, schema and migrations."""
