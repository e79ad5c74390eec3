"""The exception tree of the package.

    IntegrationError                 root: everything this package raises on purpose
    ├── ParseError                   an input (line, block, object) cannot become an event
    ├── MappingDefinitionError       the mapping definition is invalid (names rule id / key)
    ├── MappingError                 a canonical event cannot be mapped (names rule id)
    ├── ConfigError                  a setting is missing or invalid (names the setting)
    ├── ApiError                     the AccuKnox API refused or answered unexpectedly
    │   ├── AuthError                401/403: which credential failed (never its value)
    │   └── ApiValidationError       the API's own validation message
    ├── SinkError                    a destination refused delivery
    └── CheckpointError              state could not be read or written

Every message names *what* and *where* so a user can act on it without a traceback.
"""

from __future__ import annotations


class IntegrationError(Exception):
    """Root of all errors raised on purpose by this package."""


class ParseError(IntegrationError):
    """An input cannot be turned into a canonical event.

    ``location`` says where (``file:line`` or ``file:block N``); ``reason`` says why.
    """

    def __init__(self, reason: str, location: str = "") -> None:
        self.reason = reason
        self.location = location
        super().__init__(f"{location}: {reason}" if location else reason)


class MappingDefinitionError(IntegrationError):
    """The mapping definition file is invalid; the message names the rule id and key."""


class MappingError(IntegrationError):
    """A canonical event could not be mapped; the message names the rule id."""

    def __init__(self, rule_id: str, reason: str) -> None:
        self.rule_id = rule_id
        self.reason = reason
        super().__init__(f"rule {rule_id}: {reason}")


class ConfigError(IntegrationError):
    """A setting is missing or invalid; the message names the setting."""


class ApiError(IntegrationError):
    """The AccuKnox API answered with an error or an unexpected body."""

    def __init__(self, message: str, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


class AuthError(ApiError):
    """401/403 from the API: names the credential that failed, never its value."""


class ApiValidationError(ApiError):
    """The API rejected the request body; carries the server's own message."""


class SinkError(IntegrationError):
    """A destination refused or failed to confirm delivery."""

    def __init__(self, message: str, retryable: bool = False) -> None:
        self.retryable = retryable
        super().__init__(message)


class CheckpointError(IntegrationError):
    """The poller state could not be loaded or saved."""
