from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from reporting.api.views import ExportBatchDownloadView, ExportBatchListView
from reservations.api.views import EventListView, ReservationViewSet
from stock.api.views import StockViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("reservations", ReservationViewSet, basename="reservation")

stock_list = StockViewSet.as_view({"get": "list"})
stock_detail = StockViewSet.as_view({"get": "retrieve", "put": "upsert"})


# Images on the docs pages come from this site only: the vendored Redoc bundle still points its
# sidebar logo at cdn.redoc.ly, and a browser never fetches what the policy forbids.
_DOCS_POLICY = "img-src 'self' data:"


def same_site_images(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    def docs_page(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["Content-Security-Policy"] = _DOCS_POLICY
        return response

    return docs_page


def health(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Open to load balancers, like the API docs."""
    return JsonResponse({"status": "ok"})


api_v1 = [
    path("", include(router.urls)),
    path("stock/", stock_list, name="stock-list"),
    path("stock/<str:sku>/", stock_detail, name="stock-detail"),
    path("events/", EventListView.as_view(), name="event-list"),
    path("reports/batches/", ExportBatchListView.as_view(), name="export-batch-list"),
    path("reports/batches/<int:id>/download/", ExportBatchDownloadView.as_view(), name="export-batch-download"),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", same_site_images(SpectacularSwaggerView.as_view(url_name="schema")), name="swagger-ui"),
    path("api/redoc/", same_site_images(SpectacularRedocView.as_view(url_name="schema")), name="redoc"),
    path("admin/", admin.site.urls),
    path("healthz", health, name="health"),
    # Nothing lives at the root: send people to the API docs.
    path("", RedirectView.as_view(url="/api/docs/", permanent=False)),
]

handler404 = "reservations.api.problems.not_found_view"
