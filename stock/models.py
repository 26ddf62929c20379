from decimal import Decimal

from django.db import models
from django.db.models import F, Q


class Stock(models.Model):
    """One row per SKU. `reserved` is the sum of the quantities of live temporary reservations."""

    sku = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200, blank=True, default="")
    brand = models.CharField(max_length=100, blank=True, default="", db_index=True)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    on_hand = models.PositiveIntegerField(default=0)
    reserved = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(condition=Q(reserved__gte=0), name="stock_reserved_not_negative"),
            models.CheckConstraint(condition=Q(reserved__lte=F("on_hand")), name="stock_reserved_within_on_hand"),
        ]

    def __str__(self) -> str:
        return self.sku

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved
