"""Telegram channel (python-telegram-bot 22).

Relays residents to Rasa and delivers staff replies back to their chats.
"""
