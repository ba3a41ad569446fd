"""Custom actions and form validation (rasa-sdk). ``rasa run actions`` imports every module."""
