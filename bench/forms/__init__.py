"""Choosing the form and dialog layer by measurement: aiogram-dialog, aiogram Scenes, an in-house helper."""
