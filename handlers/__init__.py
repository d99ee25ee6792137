"""One module per user-facing feature; bot/app.py adds their handlers in one place."""
