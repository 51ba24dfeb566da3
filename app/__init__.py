"""Regulars: the customer book for one guesthouse or salon."""

__version__ = "0.1.0"
APP_NAME = "Regulars"
