"""Back office, first cut: operators can look reservations and events up. Corrections through
service-backed admin actions come with the back-office issue."""

from django.contrib import admin
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from .models import ApiClient, Event, Reservation


@admin.register(Reservation)
class ReservationAdmin(admin.ModelAdmin):
    list_display = ["reservation_id", "user_id", "sku", "quantity", "status", "channel", "expires_at", "updated_at"]
    list_filter = ["status", "channel"]
    search_fields = ["=user_id", "=sku__sku", "=reservation_id"]
    date_hierarchy = "created_at"
    list_select_related = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # changes go through the services (stock, TTL, events), not a raw form

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = [
        "event_id",
        "type",
        "occurred_at",
        "user_id",
        "sku",
        "old_quantity",
        "new_quantity",
        "code",
        "actor",
    ]
    list_filter = ["type", "code"]
    search_fields = ["=user_id", "=sku", "=reservation_id", "=request_id"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ApiClient)
class ApiClientAdmin(APIKeyModelAdmin):
    list_display = [*APIKeyModelAdmin.list_display, "scopes"]


# The library's own APIKey table is unused (clients are ApiClient rows): hide it so operators revoke
# keys in one place.
admin.site.unregister(APIKey)
admin.site.site_url = "/api/docs/"
