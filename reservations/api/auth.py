"""Per-client API keys (hashed at rest by djangorestframework-api-key), scopes and throttling."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from ..events import Actor
from ..models import ApiClient

KEYWORD = "Api-Key"


class ClientPrincipal:
    """What `request.user` is for an API call: the client, never a Django user."""

    is_authenticated = True
    is_staff = False

    def __init__(self, client: ApiClient) -> None:
        self.client = client
        self.pk = client.pk
        self.name = client.name

    def __str__(self) -> str:
        return self.name


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[ClientPrincipal, ApiClient] | None:
        header = request.headers.get("Authorization", "")
        keyword, _, key = header.partition(" ")
        if keyword != KEYWORD or not key:
            return None
        try:
            client = ApiClient.objects.get_from_key(key.strip())
        except ApiClient.DoesNotExist:
            raise AuthenticationFailed("invalid or revoked API key") from None
        if client.has_expired:
            raise AuthenticationFailed("expired API key")
        return ClientPrincipal(client), client

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD  # makes DRF answer 401 (not 403) to a missing key


class HasScope(BasePermission):
    """Views declare `required_scopes = {action_or_method: scope}`; a client needs that scope."""

    message = "this API key lacks the scope this operation needs"

    def has_permission(self, request: Request, view: Any) -> bool:
        client = request.auth
        if not isinstance(client, ApiClient):
            return False
        scope = required_scope(request, view)
        return scope is None or client.has_scope(scope)


def required_scope(request: Request, view: Any) -> str | None:
    scopes: dict[str, str] = getattr(view, "required_scopes", {})
    action = getattr(view, "action", None)
    return scopes.get(action) if action in scopes else scopes.get(request.method)


class ClientRateThrottle(SimpleRateThrottle):
    """One budget per API client, counted in the shared cache (Redis in production)."""

    scope = "client"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not isinstance(request.auth, ApiClient):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


def actor_of(request: Request) -> Actor:
    client = request.auth
    name = f"client:{client.name}" if isinstance(client, ApiClient) else "anonymous"
    return Actor(name=name, request_id=getattr(request._request, "request_id", ""))


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents the API-key header in the OpenAPI schema (and Swagger UI's Authorize button)."""

    target_class = ApiKeyAuthentication
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`; keys are issued with `manage.py create_api_client`.",
        }
