"""Thin HTTP layer: parse, call one service or selector, serialize."""

import uuid

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors, services
from ..errors import (
    InsufficientStock,
    NotFound,
    QuantityConflict,
    ReservationDefinitive,
    ReservationExists,
    ReservationExpired,
    StaleRequest,
)
from ..models import Scope
from .auth import actor_of
from .schema import problems
from .serializers import (
    EventPageSerializer,
    EventQuerySerializer,
    EventSerializer,
    ReservationCreateSerializer,
    ReservationListQuerySerializer,
    ReservationSerializer,
    ReservationUpdateResultSerializer,
    ReservationUpdateSerializer,
    update_payload,
)

RESERVATION_ID = OpenApiParameter("reservation_id", type=uuid.UUID, location=OpenApiParameter.PATH)


class ReservationPagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 500


@extend_schema_view(
    list=extend_schema(
        operation_id="listReservations",
        parameters=[ReservationListQuerySerializer],
        responses={200: ReservationSerializer(many=True), **problems()},
    ),
    retrieve=extend_schema(
        operation_id="retrieveReservation",
        parameters=[RESERVATION_ID],
        responses={200: ReservationSerializer, **problems(NotFound)},
    ),
)
class ReservationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ReservationSerializer
    pagination_class = ReservationPagination
    lookup_field = "reservation_id"
    lookup_value_regex = "[0-9a-fA-F-]{32,36}"
    required_scopes = {
        "list": Scope.RESERVATIONS_READ,
        "retrieve": Scope.RESERVATIONS_READ,
        "create": Scope.RESERVATIONS_WRITE,
        "destroy": Scope.RESERVATIONS_WRITE,
        "update_reservation": Scope.RESERVATIONS_WRITE,
        "refresh": Scope.RESERVATIONS_WRITE,
        "confirm": Scope.RESERVATIONS_WRITE,
    }

    def get_queryset(self):
        query = ReservationListQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.reservation_list(**query.validated_data)

    def _reservation_id(self) -> uuid.UUID:
        try:
            return uuid.UUID(self.kwargs["reservation_id"])
        except ValueError:
            raise NotFound("no reservation has this id") from None

    def retrieve(self, request: Request, reservation_id: str) -> Response:
        reservation = selectors.reservation_get(self._reservation_id())
        if reservation is None:
            raise NotFound("no reservation has this id")
        return Response(ReservationSerializer(reservation).data)

    @extend_schema(
        operation_id="createReservation",
        request=ReservationCreateSerializer,
        responses={
            201: ReservationSerializer,
            **problems(InsufficientStock, ReservationExists, operation="create"),
        },
    )
    def create(self, request: Request) -> Response:
        payload = ReservationCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        reservation = services.reservation_create(**payload.validated_data, actor=actor_of(request))
        return Response(ReservationSerializer(reservation).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="deleteReservation",
        parameters=[RESERVATION_ID],
        responses={204: None, **problems(ReservationDefinitive, NotFound, operation="delete")},
    )
    def destroy(self, request: Request, reservation_id: str) -> Response:
        services.reservation_cancel(reservation_id=self._reservation_id(), actor=actor_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="updateReservation",
        request=ReservationUpdateSerializer,
        responses={
            200: ReservationUpdateResultSerializer,
            **problems(
                ReservationDefinitive,
                InsufficientStock,
                NotFound,
                QuantityConflict,
                StaleRequest,
                ReservationExpired,
                operation="update",
            ),
        },
        description=(
            "Change the quantity of the caller's temporary reservation of a SKU (compare-and-set on "
            "`old_quantity`). On success the TTL restarts; on any failure nothing changes. Replaying the "
            "last applied request returns its original body."
        ),
    )
    @action(detail=False, methods=["post"], url_path="update")
    def update_reservation(self, request: Request) -> Response:
        result = services.reservation_update(**update_payload(request.data), actor=actor_of(request))
        return Response(
            {
                "reservation_id": str(result.reservation_id),
                "sku": result.sku,
                "new_quantity": result.new_quantity,
                "old_quantity": result.old_quantity,
                "expires_at": result.expires_at.isoformat().replace("+00:00", "Z"),
                "event_id": result.event_id,
            }
        )

    @extend_schema(
        operation_id="refreshReservation",
        request=None,
        parameters=[RESERVATION_ID],
        responses={
            200: ReservationSerializer,
            **problems(ReservationDefinitive, NotFound, ReservationExpired, operation="refresh"),
        },
    )
    @action(detail=True, methods=["post"])
    def refresh(self, request: Request, reservation_id: str) -> Response:
        reservation = services.reservation_refresh(reservation_id=self._reservation_id(), actor=actor_of(request))
        return Response(ReservationSerializer(reservation).data)

    @extend_schema(
        operation_id="confirmReservation",
        request=None,
        parameters=[RESERVATION_ID],
        responses={200: ReservationSerializer, **problems(NotFound, ReservationExpired, operation="confirm")},
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, reservation_id: str) -> Response:
        reservation = services.reservation_confirm(reservation_id=self._reservation_id(), actor=actor_of(request))
        return Response(ReservationSerializer(reservation).data)


class EventListView(APIView):
    required_scopes = {"GET": Scope.EVENTS_READ}

    @extend_schema(
        operation_id="listEvents",
        parameters=[EventQuerySerializer],
        responses={200: EventPageSerializer, **problems()},
    )
    def get(self, request: Request) -> Response:
        query = EventQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        events = selectors.events_after(**query.validated_data)
        next_after = events[-1].event_id if events else query.validated_data["after"]
        return Response({"results": EventSerializer(events, many=True).data, "next_after": next_after})
