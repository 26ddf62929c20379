import re
from decimal import Decimal

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q

# A SKU is 1–64 letters, digits and `. _ : -`, starting with a letter or digit: safe in URLs, logs and CSV.
SKU_REGEX = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
SKU_RE = re.compile(SKU_REGEX)
validate_sku = RegexValidator(SKU_REGEX, "a SKU is 1-64 letters, digits and . _ : - (starting alphanumeric)")


class Stock(models.Model):
    """One row per SKU. `reserved` is the sum of the quantities of live temporary reservations."""

    sku = models.CharField(max_length=64, unique=True, validators=[validate_sku])
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
