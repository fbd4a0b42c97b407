"""The one family of domain errors every service raises from its domain and service layer.

A use case says *what* went wrong (``NotFound("worker")``, ``Conflict(..., field=...)``); the
kit's HTTP layer (``http_errors``) alone decides the status code and the body
``{"code", "message", "field"}``. Service layers never import FastAPI nor raise HTTP errors.

Each class has a default ``code``; a rule with a more precise one passes it
(``Conflict("another worker has this Employee ID", field="employee_id",
code="DUPLICATE_EMPLOYEE_ID")``)."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a use case raises on purpose. Bad input changes nothing."""

    code = "BAD_REQUEST"

    def __init__(
        self,
        message: str,
        field: str | None = None,
        *,
        code: str | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code
        # Seconds the caller should wait before trying again (429 / 503 answers).
        self.retry_after_s = retry_after_s

    def body(self) -> dict[str, object]:
        """The answer's body: ``{code, message, field}``; a subclass may add keys (never
        remove one), e.g. the verdict on each refused photo."""
        return {"code": self.code, "message": self.message, "field": self.field}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, field={self.field!r})"


class Invalid(DomainError):
    """The input breaks a rule (a field's value, or the state it would lead to)."""

    code = "INVALID"


class NotFound(DomainError):
    """No such thing — or not one the caller may see (another tenant's, another site's)."""

    code = "NOT_FOUND"

    @classmethod
    def of(cls, what: str, field: str | None = None) -> NotFound:
        """``NotFound.of("worker")``: "worker not found"."""
        return cls(f"{what} not found", field)


class NotProjectedYet(NotFound):
    """A request names something this service learns from another service's events (a worker
    created at identity, say) that its copy does not hold yet: most likely on its way, a moment
    behind the request. ``retry.until_projected`` waits for it a bounded time; still missing
    after that, it is answered as a ``NotFound`` (404 with the rule's code)."""


class Conflict(DomainError):
    """The change clashes with the current state (a duplicate, a stale version)."""

    code = "CONFLICT"


class Unauthenticated(DomainError):
    """No caller, or one whose credential is not (or no longer) valid."""

    code = "UNAUTHENTICATED"


class Forbidden(DomainError):
    """The caller is known but their role or sites do not allow this."""

    code = "FORBIDDEN"


class TooLarge(DomainError):
    """The input is larger than this operation takes."""

    code = "TOO_LARGE"


class TooManyRequests(DomainError):
    """Too many attempts in a window (``retry_after_s`` says when to come back)."""

    code = "TOO_MANY_REQUESTS"


class Unavailable(DomainError):
    """A server this operation needs is down or busy; nothing changed, try again."""

    code = "UNAVAILABLE"


__all__ = [
    "Conflict",
    "DomainError",
    "Forbidden",
    "Invalid",
    "NotFound",
    "TooLarge",
    "TooManyRequests",
    "Unauthenticated",
    "Unavailable",
]
