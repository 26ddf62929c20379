"""Request and response shapes. Validation here is about shape; business rules are in the services."""

from typing import Any

from django.conf import settings
from rest_framework import serializers

from stock.models import SKU_RE, SKU_REGEX

from ..envelope import ENVELOPE_FIELDS
from ..models import Event, Reservation, ReservationStatus
from ..selectors import effective_status
from .fields import OffsetDateTimeField, StrictIntegerField, check_client_timestamp

INT32_MAX = 2_147_483_647


def _quantity_field(**kwargs) -> StrictIntegerField:
    return StrictIntegerField(min_value=1, max_value=settings.RESERVATION_MAX_QUANTITY, **kwargs)


def sku_field(**kwargs) -> serializers.RegexField:
    return serializers.RegexField(SKU_REGEX, max_length=64, **kwargs)


class ReservationCreateSerializer(serializers.Serializer):
    user_id = serializers.CharField(max_length=128)
    sku = sku_field()
    quantity = _quantity_field()
    channel = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")


class ReservationUpdateSerializer(serializers.Serializer):
    timestamp = OffsetDateTimeField(help_text="When the client made the change; ISO 8601 with offset.")
    user_id = serializers.CharField(max_length=128)
    sku = sku_field()
    old_quantity = StrictIntegerField(min_value=1, max_value=INT32_MAX)
    new_quantity = _quantity_field(help_text="1..RESERVATION_MAX_QUANTITY; to release everything, delete.")


def update_payload(data: Any) -> dict[str, Any]:
    """The validated updateReservation body; what ReservationUpdateSerializer would return.

    The hot path: a well-formed body (the usual case) is checked with plain comparisons, which give
    exactly the serializer's result for it; anything unusual (a missing or extra-typed field, padded
    or non-ASCII strings, out-of-range numbers…) goes through the serializer, so every error response
    is the serializer's own. Instantiating a serializer deep-copies its fields on every request.
    """
    fast = _update_payload_fast(data) if type(data) is dict else None
    if fast is not None:
        return fast
    payload = ReservationUpdateSerializer(data=data)
    payload.is_valid(raise_exception=True)
    return payload.validated_data


def _plain_string(value: Any, max_length: int) -> bool:
    """A string CharField would return unchanged: ASCII, no NUL, no surrounding blanks, not empty."""
    return (
        type(value) is str
        and 0 < len(value) <= max_length
        and value.isascii()
        and "\x00" not in value
        and value == value.strip()
    )


def _update_payload_fast(data: dict[str, Any]) -> dict[str, Any] | None:
    timestamp, user_id, sku = data.get("timestamp"), data.get("user_id"), data.get("sku")
    old, new = data.get("old_quantity"), data.get("new_quantity")
    if not (
        type(old) is int
        and type(new) is int
        and 1 <= old <= INT32_MAX
        and 1 <= new <= settings.RESERVATION_MAX_QUANTITY
        and _plain_string(user_id, 128)
        and type(sku) is str
        and SKU_RE.fullmatch(sku) is not None
    ):
        return None
    parsed, problem = check_client_timestamp(timestamp)
    if problem is not None:
        return None
    return {"timestamp": parsed, "user_id": user_id, "sku": sku, "old_quantity": old, "new_quantity": new}


class ReservationUpdateResultSerializer(serializers.Serializer):
    reservation_id = serializers.UUIDField()
    sku = serializers.CharField()
    new_quantity = serializers.IntegerField()
    old_quantity = serializers.IntegerField()
    expires_at = serializers.DateTimeField()
    event_id = serializers.IntegerField(help_text="The outbox event of this change.")


class ReservationSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="sku_id")
    status = serializers.SerializerMethodField()

    class Meta:
        model = Reservation
        fields = [
            "reservation_id",
            "user_id",
            "sku",
            "quantity",
            "status",
            "channel",
            "expires_at",
            "created_at",
            "updated_at",
            "confirmed_at",
        ]

    def get_status(self, reservation: Reservation) -> ReservationStatus:
        """A temporary reservation whose TTL has passed shows `expired` even before the sweep."""
        return effective_status(reservation)


class ReservationListQuerySerializer(serializers.Serializer):
    user_id = serializers.CharField(required=False, max_length=128)
    sku = serializers.CharField(required=False, max_length=64)
    status = serializers.ChoiceField(choices=ReservationStatus.choices, required=False)


class EventSerializer(serializers.ModelSerializer):
    class Meta:
        model = Event
        fields = list(ENVELOPE_FIELDS)  # the same members as the stream and the export files


class EventPageSerializer(serializers.Serializer):
    results = EventSerializer(many=True)
    next_after = serializers.IntegerField(help_text="Pass as `after` to read the next page.")


class EventQuerySerializer(serializers.Serializer):
    after = serializers.IntegerField(min_value=0, max_value=2**63 - 1, required=False, default=0)
    limit = serializers.IntegerField(min_value=1, max_value=1000, required=False, default=100)
