"""Domain errors: each carries the contract's stable `code`, its HTTP status and extra body members.

Services raise them; one exception handler (`reservations.api.problems`) turns them into
application/problem+json, so the mapping from rule to response lives here and nowhere else.
"""

from typing import Any


class DomainError(Exception):
    code: str = "Reservations.Invalid_request"
    status: int = 400
    title: str = "Invalid request"

    def __init__(self, detail: str = "", *, subject: dict[str, Any] | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        # Extra members of the problem body (e.g. `available`, `current_quantity`).
        self.extra = extra
        # What the refused attempt was about (user, SKU, reservation), for the `reservation.rejected` event.
        self.subject = subject or {}


class InvalidRequest(DomainError):
    code, status, title = "Reservations.Invalid_request", 400, "Invalid request"

    def __init__(self, detail: str = "", *, field: str | None = None, **extra: Any) -> None:
        # Same `errors` member as a refused request body: {field: [message]}.
        if field is not None:
            extra.setdefault("errors", {field: [detail]})
        super().__init__(detail, **extra)


class Unauthorized(DomainError):
    code, status, title = "Reservations.Unauthorized", 401, "Authentication required"


class Forbidden(DomainError):
    code, status, title = "Reservations.Forbidden", 403, "Not allowed for this client"


class ReservationDefinitive(DomainError):
    code, status, title = "Reservations.Reserva_definitiva", 403, "Reservation is confirmed"


class InsufficientStock(DomainError):
    code, status, title = "Reservations.Stock_insuficiente", 403, "Insufficient stock"


class NotFound(DomainError):
    code, status, title = "Reservations.Not_found", 404, "Not found"


class ReservationExists(DomainError):
    code, status, title = "Reservations.Reserva_existente", 409, "A temporary reservation already exists"


class QuantityConflict(DomainError):
    code, status, title = "Reservations.Quantity_conflict", 409, "old_quantity does not match"


class StaleRequest(DomainError):
    code, status, title = "Reservations.Stale_request", 409, "Request is older than the last applied update"


class ReservationExpired(DomainError):
    code, status, title = "Reservations.Reserva_expirada", 410, "Reservation has expired"


class Throttled(DomainError):
    code, status, title = "Reservations.Throttled", 429, "Too many requests"


class OperationFailed(DomainError):
    """A transactional failure (database error, deadlock, lock timeout): nothing was changed."""

    status, title = 500, "Operation failed"

    def __init__(self, operation: str, detail: str = "") -> None:
        super().__init__(detail or "The operation failed and nothing was changed; it is safe to retry.")
        self.code = failed_code(operation)


def failed_code(operation: str) -> str:
    """`update` → `Reservations.Update_failed`: the catalogue's per-operation 500 code."""
    return f"Reservations.{operation.capitalize()}_failed"


# Every error class the API can answer with, for the OpenAPI schema and the tests.
CATALOGUE: tuple[type[DomainError], ...] = (
    InvalidRequest,
    Unauthorized,
    Forbidden,
    ReservationDefinitive,
    InsufficientStock,
    NotFound,
    ReservationExists,
    QuantityConflict,
    StaleRequest,
    ReservationExpired,
    Throttled,
)
