"""Shuangyou (双优): assembly, configuration, command line, console and texts of the bot."""

import os

# python-telegram-bot 22 warns on every RetryAfter.retry_after read unless it may give a timedelta,
# which is what our code expects (see PLATFORM.md §2).
os.environ.setdefault("PTB_TIMEDELTA", "true")
