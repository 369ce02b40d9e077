"""Errors a rule or a use case raises when a request cannot be answered, each with a stable code."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class DomainError(Exception):
    """Base of every business error; `code` is the stable UPPER_SNAKE id the API returns."""

    code = "DOMAIN_ERROR"

    def __init__(
        self, detail: str, *, code: str | None = None, extra: Mapping[str, object] | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = dict(extra or {})  # more members of the problem document
        if code is not None:
            self.code = code


class NotFound(DomainError):
    """The named resource does not exist (or is not visible to the caller)."""

    code = "NOT_FOUND"


class Unauthenticated(DomainError):
    """The API key presented is not (or no longer) valid."""

    code = "UNAUTHENTICATED"


class Conflict(DomainError):
    """The request is well-formed but clashes with the current state."""

    code = "CONFLICT"


class PaymentFailed(DomainError):
    """The payment provider refused or could not take the payment."""

    code = "PAYMENT_FAILED"


class Invalid(DomainError):
    """Input that breaks a rule; `errors` maps each offending field to its messages."""

    code = "VALIDATION_FAILED"

    def __init__(
        self,
        detail: str,
        *,
        errors: Mapping[str, Sequence[str]],
        code: str | None = None,
    ) -> None:
        super().__init__(detail, code=code)
        self.errors = {field: list(messages) for field, messages in errors.items()}

    @classmethod
    def field(cls, field: str, message: str, *, code: str | None = None) -> Invalid:
        """An error about one field, with the message as the detail too."""
        return cls(message, errors={field: [message]}, code=code)


class UpstreamUnavailable(DomainError):
    """A provider we depend on (Stripe) did not answer; nothing was written, retry later."""

    code = "PAYMENT_PROVIDER_UNAVAILABLE"


class BadSignature(DomainError):
    """A webhook whose signature does not prove it came from the provider."""

    code = "SIGNATURE_INVALID"
