"""Errors the services raise; each message is written for the person at the desk."""

from __future__ import annotations


class ServiceError(Exception):
    """A request that cannot be carried out; ``str(exc)`` is the user-facing reason."""


class NotFoundError(ServiceError):
    pass


class ValidationError(ServiceError):
    """Bad input for one field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
