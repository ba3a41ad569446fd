"""Custom Rasa NLU components for Chinese resident messages."""
