from django.db.models import QuerySet

from .models import Stock


def stock_list(*, brand: str | None = None) -> QuerySet:
    queryset = Stock.objects.all().order_by("sku")
    return queryset.filter(brand=brand) if brand else queryset


def stock_get(sku: str) -> Stock | None:
    return Stock.objects.filter(sku=sku).first()
