"""Per-client API keys (hashed at rest by djangorestframework-api-key), scopes and throttling."""

from typing import Any

from django.conf import settings
from django.core.cache import cache
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed, Throttled
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
            self._count_failure(request)
            raise AuthenticationFailed("invalid or revoked API key") from None
        if client.has_expired:
            raise AuthenticationFailed("expired API key")
        return ClientPrincipal(client), client

    @staticmethod
    def _count_failure(request: Request) -> None:
        """Bound key guessing: too many bad keys from one address within a minute → 429."""
        cache_key = f"authfail:{request.META.get('REMOTE_ADDR', '')}"
        cache.add(cache_key, 0, timeout=60)
        try:
            failures = cache.incr(cache_key)
        except ValueError:  # expired between add and incr
            failures = 1
        if failures > settings.AUTH_FAILURES_PER_MINUTE:
            raise Throttled(wait=60, detail="too many failed authentications")

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD  # makes DRF answer 401 (not 403) to a missing key


class HasScope(BasePermission):
    """Views declare `required_scopes = {action_or_method: scope}`; a client needs that scope.

    Fails closed: a method or action with no declared scope is refused.
    """

    message = "this API key lacks the scope this operation needs"

    def has_permission(self, request: Request, view: Any) -> bool:
        client = request.auth
        if not isinstance(client, ApiClient):
            return False
        if not hasattr(view, request.method.lower()):
            return True  # no such operation: let the view answer 405
        scope = required_scope(request, view)
        return scope is not None and client.has_scope(scope)


def required_scope(request: Request, view: Any) -> str | None:
    """The scope of the operation a request reaches; HEAD and OPTIONS need the scope of GET."""
    scopes: dict[str, str] = getattr(view, "required_scopes", {})
    method = request.method.lower()
    if method in ("head", "options"):
        method = "get"
    action = getattr(view, "action_map", {}).get(method)
    return scopes.get(action) if action else scopes.get(method.upper())


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
