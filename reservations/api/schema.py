"""OpenAPI documentation of the problem+json errors each operation can answer with."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, inline_serializer
from rest_framework import serializers

from ..errors import DomainError, Forbidden, InvalidRequest, Throttled, Unauthorized, failed_code

Problem = inline_serializer(
    name="Problem",
    fields={
        "type": serializers.CharField(),
        "title": serializers.CharField(),
        "status": serializers.IntegerField(),
        "detail": serializers.CharField(),
        "code": serializers.CharField(help_text="Stable error code, e.g. Reservations.Stock_insuficiente"),
        "instance": serializers.CharField(required=False),
    },
)


ALWAYS: tuple[type[DomainError], ...] = (InvalidRequest, Unauthorized, Forbidden, Throttled)


def _example(code: str, status: int, title: str) -> OpenApiExample:
    return OpenApiExample(
        code,
        value={"type": f"https://errors.checkout.example/{code}", "title": title, "status": status, "code": code},
        response_only=True,
        status_codes=[str(status)],
    )


def problems(*errors: type[DomainError], operation: str | None = None) -> dict[int, OpenApiResponse]:
    """Responses for the given errors (plus those every call can get), grouped by HTTP status."""
    by_status: dict[int, list[tuple[str, str]]] = {}
    for error in (*ALWAYS, *errors):
        by_status.setdefault(error.status, []).append((error.code, error.title))
    if operation:
        by_status[500] = [(failed_code(operation), "Operation failed; nothing changed")]
    return {
        status: OpenApiResponse(
            response=Problem,
            description=" | ".join(code for code, _ in entries),
            examples=[_example(code, status, title) for code, title in entries],
        )
        for status, entries in sorted(by_status.items())
    }
