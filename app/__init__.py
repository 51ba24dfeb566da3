"""Regulars: the customer book for one guesthouse or salon."""

import os

__version__ = "0.1.0"
APP_NAME = "Regulars"

# pypinyin's phrase dictionary is ~45 MB in memory (measured: the window at 100k
# customers went over its 400 MB budget with it). Pinyin is only taken of names, read
# character by character, where word phrases do not apply. Must be set before any
# module imports pypinyin.
os.environ.setdefault("PYPINYIN_NO_PHRASES", "1")
