"""One error hierarchy for the whole project.

Every error carries a stable ``code`` (what a client switches on), an HTTP ``status``
(what the server answers with) and a human ``message``. The server maps them to JSON in
one place; the device shows the message.
"""

from __future__ import annotations

__all__ = [
    "SyncError",
    "ValidationError",
    "UnknownEntityError",
    "RefusedWriteError",
    "PayloadTooLargeError",
    "AuthError",
    "DeviceRevokedError",
    "ForbiddenError",
    "NotFoundError",
    "ResyncRequiredError",
    "ConflictError",
    "ChangesetReusedError",
    "RateLimitedError",
    "TransportError",
    "SchemaVersionError",
    "InvalidRangeError",
    "InvalidContentTypeError",
    "HashMismatchError",
    "QuotaExceededError",
    "EnrollmentCodeError",
    "EnrollmentCodeUnknownError",
    "EnrollmentCodeUsedError",
    "EnrollmentCodeExpiredError",
    "error_from_response",
]


class SyncError(Exception):
    """Base of every error fieldsync raises on purpose."""

    code = "sync_error"
    status = 400

    def __init__(self, message: str, *, field: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details or {}

    def to_dict(self) -> dict:
        body = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        if self.details:
            body["details"] = self.details
        return body


class ValidationError(SyncError):
    """Input that does not fit the protocol or the registry."""

    code = "invalid"
    status = 422


class UnknownEntityError(ValidationError):
    code = "unknown_entity"


class RefusedWriteError(ValidationError):
    """A write asked for by a request (head office settling a conflict) that the server
    refuses for a reason it would reject a pushed mutation with: ``code`` is that reason
    (``invalid_value``, ``too_large``, a rule's own), so the office and a device are
    given one code for one fault."""

    code = "invalid_value"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None,
                 details: dict | None = None):
        super().__init__(message, field=field, details=details)
        if code is not None:
            self.code = code


class SchemaVersionError(ValidationError):
    """The device speaks a schema version the server cannot read."""

    code = "schema_version"


class InvalidRangeError(ValidationError):
    """A blob piece's ``Content-Range`` is malformed or does not fit its body."""

    code = "invalid_range"


class InvalidContentTypeError(ValidationError):
    """A blob's ``Content-Type`` is not a plausible MIME type."""

    code = "invalid_content_type"


class HashMismatchError(ValidationError):
    """A blob's bytes do not hash to its name: the upload is dropped, to start again."""

    code = "hash_mismatch"


class PayloadTooLargeError(SyncError):
    code = "too_large"
    status = 413


class AuthError(SyncError):
    """No token, an unknown token or a revoked device."""

    code = "unauthorized"
    status = 401


class DeviceRevokedError(AuthError):
    """The device's token was revoked (a lost phone): it is refused from its next request."""

    code = "device_revoked"


class ForbiddenError(SyncError):
    code = "forbidden"
    status = 403


class NotFoundError(SyncError):
    code = "not_found"
    status = 404


class ConflictError(SyncError):
    code = "conflict"
    status = 409


class ChangesetReusedError(ConflictError):
    """A change-set id the server answered for other mutations: an id names one change-set."""

    code = "changeset_reused"


class ResyncRequiredError(SyncError):
    """The pull cursor is older than what the server's log still holds."""

    code = "resync_required"
    status = 410


class RateLimitedError(SyncError):
    code = "rate_limited"
    status = 429


class QuotaExceededError(SyncError):
    """The device's blobs would outgrow its storage quota (507, as WebDAV servers answer)."""

    code = "quota_exceeded"
    status = 507


class EnrollmentCodeError(SyncError):
    """A device's enrollment code the server will not exchange for a token (the subclasses
    say why); the person asks the office for a new code."""

    code = "enrollment_code"
    status = 400


class EnrollmentCodeUnknownError(EnrollmentCodeError):
    """No enrollment has this code: mistyped, or guessed."""

    code = "enrollment_code_unknown"
    status = 404


class EnrollmentCodeUsedError(EnrollmentCodeError):
    """The code was exchanged already: a code makes one device."""

    code = "enrollment_code_used"
    status = 409


class EnrollmentCodeExpiredError(EnrollmentCodeError):
    """The code was not exchanged in time."""

    code = "enrollment_code_expired"
    status = 410


class TransportError(SyncError):
    """The network failed or the server answered something unreadable."""

    code = "transport"
    status = 503


_BY_CODE = {
    cls.code: cls
    for cls in (
        ValidationError, UnknownEntityError, RefusedWriteError, SchemaVersionError, InvalidRangeError,
        InvalidContentTypeError, HashMismatchError, PayloadTooLargeError, AuthError, DeviceRevokedError, ForbiddenError,
        NotFoundError, ConflictError, ChangesetReusedError, ResyncRequiredError, RateLimitedError, QuotaExceededError, TransportError,
        EnrollmentCodeUnknownError, EnrollmentCodeUsedError, EnrollmentCodeExpiredError,
    )
}


def error_from_response(status: int, body: object) -> SyncError:
    """Rebuild the error a server answered, so a device can catch it by class."""
    if not isinstance(body, dict) or not isinstance(body.get("code"), str):
        return TransportError(f"the server answered {status} with no readable error")
    cls = _BY_CODE.get(body["code"], SyncError)
    error = cls(str(body.get("message", body["code"])), field=body.get("field"), details=body.get("details") or {})
    if cls is SyncError:
        error.code, error.status = body["code"], status
    return error
