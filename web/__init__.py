"""The web pages, served in the bot's process: the public's review pages, the lobby board, the /ranking Mini App."""
