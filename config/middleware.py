"""The admin's middleware, skipped for API calls.

Sessions, CSRF, Django's auth and messages serve the admin (a browser with a session cookie). API calls
authenticate with an API key in DRF, whose views are CSRF-exempt and never read `request.session`,
`request.user` or messages; running those four on each API call cost ~7 % of a request's CPU
(docs/performance.md). Each class below is Django's own, subclassed so the admin's system checks still
find it and every hook (request, response, view) keeps Django's behaviour everywhere but under
API_PATH_PREFIX (`/api/v1/`; the docs pages keep the full stack). The test client goes through the same
classes, so the tests see what production does.
"""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware as DjangoMessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware as DjangoCsrfViewMiddleware


def is_api_call(request: HttpRequest) -> bool:
    return request.path_info.startswith(settings.API_PATH_PREFIX)


class _NotForApiCalls:
    get_response: Callable[[HttpRequest], HttpResponse]

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api_call(request):
            return self.get_response(request)
        return super().__call__(request)


class SessionMiddleware(_NotForApiCalls, DjangoSessionMiddleware):
    pass


class CsrfViewMiddleware(_NotForApiCalls, DjangoCsrfViewMiddleware):
    def process_view(self, request: HttpRequest, view: Callable, args: Any, kwargs: Any) -> HttpResponse | None:
        if is_api_call(request):
            return None
        return super().process_view(request, view, args, kwargs)


class AuthenticationMiddleware(_NotForApiCalls, DjangoAuthenticationMiddleware):
    pass


class MessageMiddleware(_NotForApiCalls, DjangoMessageMiddleware):
    pass
