from django.contrib import admin

from .models import Stock


@admin.register(Stock)
class StockAdmin(admin.ModelAdmin):
    list_display = ["sku", "name", "brand", "unit_price", "on_hand", "reserved", "available"]
    list_filter = ["brand"]
    search_fields = ["sku", "name"]
    readonly_fields = ["reserved"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # stock corrections go through stock_upsert (events, reclaim, on_hand >= reserved)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False
