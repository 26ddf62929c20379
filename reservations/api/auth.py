"""Per-client API keys (hashed at rest by djangorestframework-api-key), scopes and throttling.

Both run on every request, so both are kept to at most one round trip (docs/performance.md):

- a key that verified is remembered in this process for API_KEY_CACHE_SECONDS (default 5): a
  revocation or expiry reaches every process within that time, and the process that saved the
  change (admin, command) forgets the key at once (post_save/post_delete of ApiClient);
- the per-client throttle counts a fixed window in the shared cache instead of DRF's list of every
  request's timestamp (read and rewritten whole on each request), and each web process takes units
  of that count in leases (one Redis INCRBY per lease, `take_from_window`). A fixed window lets a
  client burst up to twice its rate across a window boundary.
"""

import hashlib
import threading
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
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


# sha512(key) -> (client, monotonic deadline). Only keys that verified are kept; bounded in size.
_verified: dict[str, tuple[ApiClient, float]] = {}
_VERIFIED_MAX = 1024


def _cache_seconds() -> float:
    return getattr(settings, "API_KEY_CACHE_SECONDS", 5)


def _client_of_key(key: str) -> ApiClient:
    """The client of a valid key (ApiClient.DoesNotExist otherwise), from this process's short cache."""
    digest = hashlib.sha512(key.encode()).hexdigest()
    now = time.monotonic()
    hit = _verified.get(digest)
    if hit is not None and hit[1] > now:
        return hit[0]
    client = ApiClient.objects.get_from_key(key)  # usable keys only: revoked ones raise DoesNotExist
    if _cache_seconds() > 0:
        if len(_verified) >= _VERIFIED_MAX:
            _verified.clear()
        _verified[digest] = (client, now + _cache_seconds())
    return client


def forget_verified_keys(**kwargs: Any) -> None:
    """A client was saved or deleted in this process (revoked, scopes changed…): verify keys again."""
    _verified.clear()


post_save.connect(forget_verified_keys, sender=ApiClient, dispatch_uid="api-key-cache-save")
post_delete.connect(forget_verified_keys, sender=ApiClient, dispatch_uid="api-key-cache-delete")


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[ClientPrincipal, ApiClient] | None:
        header = request.headers.get("Authorization", "")
        keyword, _, key = header.partition(" ")
        if keyword != KEYWORD or not key:
            return None
        try:
            client = _client_of_key(key.strip())
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
    """One budget per API client and fixed window (e.g. a minute), counted in the shared cache."""

    scope = "client"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not isinstance(request.auth, ApiClient):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_ends = (window + 1) * self.duration
        return take_from_window(key, window, budget=self.num_requests, timeout=self.duration + 1)

    def wait(self) -> float:
        return max(0.0, self.window_ends - self.now)


# A web process takes units of a client's window budget from the shared counter `lease` at a time and
# hands them out locally: one Redis round trip per `lease` requests instead of one per request. No
# client ever gets more than its budget (each lease is cut to what is left); a client may be refused up
# to (web processes x (lease - 1)) requests early, the units other processes hold unused when the window
# ends. Budgets below 100 x lease use smaller leases, so low limits stay exact (a lease of 1).
_leases: dict[str, tuple[int, int]] = {}  # client key -> (window, units this process may still grant)
_leases_lock = threading.Lock()


def lease_size(budget: int) -> int:
    return max(1, min(settings.API_THROTTLE_LEASE, budget // 100))


def take_from_window(key: str, window: int, *, budget: int, timeout: int) -> bool:
    """Count one request of a client's window; False once the window's budget is spent."""
    with _leases_lock:
        held_window, left = _leases.get(key, (window, 0))
        if held_window == window and left > 0:
            _leases[key] = (window, left - 1)
            return True
    lease = lease_size(budget)
    counted_before = _add_to_window(f"{key}:{window}", lease, timeout) - lease
    granted = min(lease, budget - counted_before)
    if granted <= 0:
        return False
    with _leases_lock:
        _leases[key] = (window, granted - 1)
    return True


_redis: list[Any] = []  # the write client of Django's Redis cache, built once per process (it is thread-safe)


def _redis_client() -> Any | None:
    get_client = getattr(getattr(cache, "_cache", None), "get_client", None)
    if get_client is None:  # not django.core.cache.backends.redis.RedisCache
        return None
    if not _redis:
        _redis.append(get_client(None, write=True))  # Django builds a new client object per call otherwise
    return _redis[0]


def _add_to_window(key: str, units: int, timeout: int) -> int:
    """Add `units` to a window's shared counter and return the new total: one round trip on Redis (two
    for the window's first lease), two elsewhere."""
    client = _redis_client()
    if client is not None:
        full_key = cache.make_and_validate_key(key)
        total = int(client.incrby(full_key, units))
        if total == units:  # the window's first lease sets its lifetime (the key names its window)
            client.expire(full_key, timeout)
        return total
    cache.add(key, 0, timeout)
    try:
        return cache.incr(key, units)
    except ValueError:  # expired between add and incr
        cache.add(key, units, timeout)
        return units


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
