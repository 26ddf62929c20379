import uuid

from django.db import models
from django.db.models import Q
from rest_framework_api_key.models import AbstractAPIKey


class CurrentTransactionId(models.Func):
    """The inserting transaction's id on PostgreSQL; NULL elsewhere (SQLite serialises writers)."""

    output_field = models.BigIntegerField()

    def as_sql(self, compiler, connection, **extra_context):
        return "NULL", []

    def as_postgresql(self, compiler, connection, **extra_context):
        return "(pg_current_xact_id()::text::bigint)", []


class ReservationStatus(models.TextChoices):
    TEMPORARY = "temporary"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class Reservation(models.Model):
    reservation_id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user_id = models.CharField(max_length=128)
    # Stored as the SKU string itself (to_field) so the hot path locks the stock row by its unique key
    # without a join.
    sku = models.ForeignKey(
        "stock.Stock", to_field="sku", db_column="sku", on_delete=models.PROTECT, related_name="reservations"
    )
    quantity = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=ReservationStatus.choices, default=ReservationStatus.TEMPORARY)
    channel = models.CharField(max_length=32, blank=True, default="")
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The last applied updateReservation, kept to reject stale requests and to answer an exact
    # replay with the original body.
    last_update_timestamp = models.DateTimeField(null=True, blank=True)
    last_update_old_quantity = models.PositiveIntegerField(null=True, blank=True)
    last_update_new_quantity = models.PositiveIntegerField(null=True, blank=True)
    last_update_expires_at = models.DateTimeField(null=True, blank=True)
    last_update_event_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user_id", "sku"], name="reservation_user_sku"),
            models.Index(fields=["sku", "expires_at"], condition=Q(status="temporary"), name="reservation_live_by_sku"),
            models.Index(fields=["expires_at"], condition=Q(status="temporary"), name="reservation_live_expiry"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["user_id", "sku"], condition=Q(status="temporary"), name="one_temporary_per_user_sku"
            ),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="reservation_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} x {self.quantity} {self.sku_id} ({self.status})"


class EventType(models.TextChoices):
    CREATED = "reservation.created"
    MODIFIED = "reservation.modified"
    REFRESHED = "reservation.refreshed"
    CONFIRMED = "reservation.confirmed"
    CANCELLED = "reservation.cancelled"
    EXPIRED = "reservation.expired"
    REJECTED = "reservation.rejected"
    STOCK_ADJUSTED = "stock.adjusted"


class Event(models.Model):
    """Transactional outbox: written in the same transaction as the change it describes."""

    event_id = models.BigAutoField(primary_key=True)
    type = models.CharField(max_length=32, choices=EventType.choices)
    occurred_at = models.DateTimeField()
    reservation_id = models.UUIDField(null=True, blank=True, db_index=True)
    user_id = models.CharField(max_length=128, blank=True, default="")
    sku = models.CharField(max_length=64, blank=True, default="")
    old_quantity = models.IntegerField(null=True, blank=True)
    new_quantity = models.IntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, blank=True, default="")
    channel = models.CharField(max_length=32, blank=True, default="")
    actor = models.CharField(max_length=150, blank=True, default="")
    request_id = models.CharField(max_length=64, blank=True, default="")
    # For `reservation.rejected`: the contract code and the operation that was refused.
    code = models.CharField(max_length=64, blank=True, default="")
    operation = models.CharField(max_length=32, blank=True, default="")
    # PostgreSQL fills this with the inserting transaction's id; the event feed only hands out events
    # of transactions older than every running one, so a consumer reading `after=N` never skips an
    # event whose lower id committed late (see selectors.events_after).
    txid = models.BigIntegerField(null=True, blank=True, editable=False, db_default=CurrentTransactionId())
    exported_batch = models.ForeignKey(
        "reporting.ExportBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["event_id"]
        indexes = [
            models.Index(fields=["event_id"], condition=Q(exported_batch__isnull=True), name="event_unexported"),
            models.Index(fields=["event_id"], condition=Q(published_at__isnull=True), name="event_unpublished"),
            models.Index(fields=["type", "occurred_at"], name="event_type_time"),
        ]

    def __str__(self) -> str:
        return f"#{self.event_id} {self.type}"


class Scope(models.TextChoices):
    RESERVATIONS_READ = "reservations:read"
    RESERVATIONS_WRITE = "reservations:write"
    STOCK_WRITE = "stock:write"
    EVENTS_READ = "events:read"
    REPORTS_READ = "reports:read"


class ApiClient(AbstractAPIKey):
    """A client service (eCommerce front, Stock, Delivery…): one hashed API key and its scopes."""

    scopes = models.JSONField(default=list, blank=True)

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "API client"
        verbose_name_plural = "API clients"

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes
