"""Everything that touches the database: tables, sessions, queries and migrations."""

# Every process that writes (the bot, the console, `python -m bot check --repair`, the tests) raises the boards'
# version with its changes: the session events that do it are registered when storage.boards is imported.
from storage import boards as boards
