from __future__ import annotations


class OrderError(ValueError):
    """Bad input: names the field and the reason (API answers 422).

    ``field`` is the API field name, never translated; ``message`` is already
    in the language that was active when it was raised, like the messages of
    the other errors here."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.errors: list[OrderError] = [self]

    @classmethod
    def gather(cls, errors: list[OrderError]) -> OrderError:
        """One error for several: the first's field and message, all of them
        in ``errors`` (a form shows each next to its field)."""
        first = errors[0]
        first.errors = list(errors)
        return first


class TransitionError(ValueError):
    """The action is not allowed in the order's state (API answers 409)."""


class NotAllowed(PermissionError):
    """The user may not do this to this order (API answers 403)."""
