"""The errors domain functions raise; the web layer turns each into a Chinese page or JSON."""

from __future__ import annotations


class PortalError(Exception):
    """Base class; `message` is Chinese and safe to show to the user."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(PortalError):
    status = 404


class Forbidden(PortalError):
    status = 403


class Conflict(PortalError):
    """The thing changed since the user saw it (a double click, two people acting at once)."""

    status = 409


class Invalid(PortalError):
    """Bad input: `errors` maps a field name (or "" for the whole form) to a Chinese message."""

    status = 400

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("；".join(errors.values()))
        self.errors = errors


class LoginFailed(PortalError):
    status = 401
