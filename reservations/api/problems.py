"""The one place where errors become application/problem+json (RFC 9457) with a stable `code`."""

import logging
from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found
from rest_framework import exceptions
from rest_framework.response import Response

from ..errors import (
    DomainError,
    Forbidden,
    InvalidRequest,
    NotFound,
    OperationFailed,
    Throttled,
    Unauthorized,
)

logger = logging.getLogger(__name__)
PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "https://errors.checkout.example/"

# View actions whose `_failed` code is named after the contract's operation rather than the action;
# every read shares `Reservations.Read_failed`.
FAILURE_OPERATIONS = {
    "create": "create",
    "update_reservation": "update",
    "destroy": "delete",
    "refresh": "refresh",
    "confirm": "confirm",
    "upsert": "upsert",
}


def failure_operation(view: Any) -> str:
    return FAILURE_OPERATIONS.get(getattr(view, "action", None) or "", "read")


def problem_body(error: DomainError, instance: str = "") -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": TYPE_BASE + error.code,
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        "code": error.code,
        **error.extra,
    }
    if instance:
        body["instance"] = instance
    return body


def problem_response(error: DomainError, instance: str = "") -> Response:
    return Response(problem_body(error, instance), status=error.status, content_type=PROBLEM_CONTENT_TYPE)


def _as_domain_error(exc: Exception, context: dict[str, Any]) -> DomainError | None:
    if isinstance(exc, DomainError):
        return exc
    if isinstance(exc, exceptions.ValidationError):
        return InvalidRequest("the request is not valid", errors=exc.detail)
    if isinstance(exc, exceptions.ParseError):
        return InvalidRequest(str(exc.detail))
    if isinstance(exc, RequestDataTooBig):
        return InvalidRequest("request body too large")
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        return Unauthorized(str(exc.detail))
    if isinstance(exc, exceptions.PermissionDenied | DjangoPermissionDenied):
        return Forbidden(str(getattr(exc, "detail", "")) or Forbidden.title)
    if isinstance(exc, exceptions.NotFound | Http404):
        return NotFound("not found")
    if isinstance(exc, exceptions.Throttled):
        return Throttled(f"retry in {exc.wait:.0f} s" if exc.wait else "", retry_after=exc.wait)
    if isinstance(exc, exceptions.APIException):
        return None
    # A database error outside a service, or a bug: logged with its traceback, answered in the contract's
    # shape with the operation's `_failed` code rather than an HTML page.
    logger.error("unhandled %s in %s", type(exc).__name__, context.get("view"), exc_info=exc)
    return OperationFailed(failure_operation(context.get("view")))


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    error = _as_domain_error(exc, context)
    if error is None:
        if isinstance(exc, exceptions.APIException):  # 405, 406, 415: HTTP-level, outside the domain catalogue
            generic = DomainError(str(exc.detail))
            generic.status, generic.title = exc.status_code, HTTPStatus(exc.status_code).phrase
            generic.code = f"Reservations.{exc.default_code.capitalize()}"
            return problem_response(generic, context["request"].path if "request" in context else "")
        return None
    response = problem_response(error, context["request"].path if "request" in context else "")
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        response["WWW-Authenticate"] = "Api-Key"
    if isinstance(exc, exceptions.Throttled) and exc.wait:
        response["Retry-After"] = str(int(exc.wait) + 1)
    return response


def not_found_view(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler404: unknown URLs under /api/ answer problem+json like the rest of the API."""
    if not request.path.startswith("/api/"):
        return page_not_found(request, exception)
    body = problem_body(NotFound("no such resource"), request.path)
    return JsonResponse(body, status=404, content_type=PROBLEM_CONTENT_TYPE)
