"""Cross-cutting concerns, in the order they run for each update (see bot/app.py)."""
