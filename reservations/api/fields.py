"""Strict JSON fields: the contract's numbers are JSON integers and its timestamps carry an offset."""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


@extend_schema_field(OpenApiTypes.INT)
class StrictIntegerField(serializers.IntegerField):
    """Rejects "3", 2.5, 3.0 and true, which DRF's IntegerField would coerce."""

    def to_internal_value(self, data: Any) -> int:
        if type(data) is not int:
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field(OpenApiTypes.DATETIME)
class OffsetDateTimeField(serializers.Field):
    """An ISO 8601 timestamp that states its UTC offset (a naive time is ambiguous) and is plausible.

    A client clock may run a little ahead (UPDATE_TIMESTAMP_MAX_FUTURE_SECONDS); a time far in the future
    would make every later request of that reservation "stale", and one far in the past is no change a
    live reservation can still be waiting for (UPDATE_TIMESTAMP_MAX_AGE_SECONDS).
    """

    default_error_messages = {
        "invalid": "Expected an ISO 8601 timestamp with a UTC offset, e.g. 2026-12-03T10:00:00+01:00.",
        "future": "timestamp is more than {seconds} s ahead of the server's clock",
        "past": "timestamp is more than {seconds} s old",
    }

    def to_internal_value(self, data: Any) -> datetime:
        value, problem = check_client_timestamp(data)
        if problem is not None:
            self.fail(
                problem,
                seconds=settings.UPDATE_TIMESTAMP_MAX_FUTURE_SECONDS
                if problem == "future"
                else settings.UPDATE_TIMESTAMP_MAX_AGE_SECONDS,
            )
        return value

    def to_representation(self, value: datetime) -> str:
        return value.isoformat()


def check_client_timestamp(data: Any) -> tuple[datetime | None, str | None]:
    """(the instant, None) for an acceptable client timestamp, else (None, the error key)."""
    try:
        value = parse_datetime(data) if isinstance(data, str) else None
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        return None, "invalid"
    now = timezone.now()
    try:
        if value > now + timedelta(seconds=settings.UPDATE_TIMESTAMP_MAX_FUTURE_SECONDS):
            return None, "future"
        if value < now - timedelta(seconds=settings.UPDATE_TIMESTAMP_MAX_AGE_SECONDS):
            return None, "past"
    except OverflowError:  # an offset that pushes the instant outside datetime's range
        return None, "invalid"
    return value, None
