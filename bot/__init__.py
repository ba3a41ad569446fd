"""Telegram channel (python-telegram-bot 22): relays residents to Rasa and delivers staff replies."""
