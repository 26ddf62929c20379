"""Strict JSON fields: the contract's numbers are JSON integers and its timestamps carry an offset."""

from datetime import datetime
from typing import Any

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
    """An ISO 8601 timestamp that must state its UTC offset (a naive time is ambiguous)."""

    default_error_messages = {
        "invalid": "Expected an ISO 8601 timestamp with a UTC offset, e.g. 2026-12-03T10:00:00+01:00."
    }

    def to_internal_value(self, data: Any) -> datetime:
        try:
            value = parse_datetime(data) if isinstance(data, str) else None
        except ValueError:
            value = None
        if value is None or value.tzinfo is None:
            self.fail("invalid")
        return value

    def to_representation(self, value: datetime) -> str:
        return value.isoformat()
