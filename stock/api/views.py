from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response

from reservations.api.auth import actor_of
from reservations.api.schema import problems
from reservations.errors import InvalidRequest, NotFound
from reservations.models import Scope

from .. import selectors, services
from ..models import validate_sku
from .serializers import StockListQuerySerializer, StockSerializer, StockUpsertSerializer

SKU = OpenApiParameter("sku", type=str, location=OpenApiParameter.PATH)


class StockPagination(LimitOffsetPagination):
    default_limit = 100
    max_limit = 1000


@extend_schema_view(
    list=extend_schema(operation_id="listStock", responses={200: StockSerializer(many=True), **problems()}),
)
class StockViewSet(viewsets.GenericViewSet):
    serializer_class = StockSerializer
    pagination_class = StockPagination
    lookup_field = "sku"
    lookup_value_regex = "[^/]+"
    required_scopes = {"list": "reservations:read", "retrieve": "reservations:read", "upsert": Scope.STOCK_WRITE}

    def get_queryset(self):
        query = StockListQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.stock_list(**query.validated_data)

    def _sku(self, sku: str) -> str:
        """The SKU in the path, refused with a 400 when it could never be a SKU."""
        try:
            validate_sku(sku)
        except DjangoValidationError:
            raise InvalidRequest("malformed sku in the path", field="sku") from None
        return sku

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(StockSerializer(page, many=True).data)

    @extend_schema(
        operation_id="retrieveStock", parameters=[SKU], responses={200: StockSerializer, **problems(NotFound)}
    )
    def retrieve(self, request: Request, sku: str) -> Response:
        stock = selectors.stock_get(self._sku(sku))
        if stock is None:
            raise NotFound(f"unknown sku {sku!r}")
        return Response(StockSerializer(stock).data)

    @extend_schema(
        operation_id="upsertStock",
        parameters=[SKU],
        request=StockUpsertSerializer,
        responses={200: StockSerializer, 201: StockSerializer, **problems(operation="upsert")},
        description="Create a SKU or set its on-hand units. `on_hand` below the units currently reserved is refused.",
    )
    def upsert(self, request: Request, sku: str) -> Response:
        payload = StockUpsertSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        stock, created = services.stock_upsert(sku=self._sku(sku), **payload.validated_data, actor=actor_of(request))
        return Response(StockSerializer(stock).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
