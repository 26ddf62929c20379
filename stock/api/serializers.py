from rest_framework import serializers

from reservations.api.fields import StrictIntegerField

from ..models import Stock


class StockSerializer(serializers.ModelSerializer):
    available = serializers.IntegerField(read_only=True)

    class Meta:
        model = Stock
        fields = ["sku", "name", "brand", "unit_price", "on_hand", "reserved", "available", "updated_at"]


class StockUpsertSerializer(serializers.Serializer):
    on_hand = StrictIntegerField(min_value=0, max_value=2_147_483_647)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    brand = serializers.CharField(max_length=100, required=False, allow_blank=True)
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False)


class StockListQuerySerializer(serializers.Serializer):
    brand = serializers.CharField(max_length=100, required=False)
