"""Demo catalogue for local runs: idempotent, fixed credentials so the README's curl calls work as written."""

import random
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from rest_framework_api_key.crypto import KeyGenerator

from reservations.events import Actor
from reservations.models import ApiClient, Scope
from stock.models import Stock
from stock.services import stock_upsert

BRANDS = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Tyrell", "Cyberdyne", "Hooli", "Soylent"]
PRODUCTS = ["Sneakers", "Jacket", "Backpack", "Headphones", "Watch"]
DEMO_CLIENT = "demo-shop"


class Command(BaseCommand):
    help = "Load ~50 demo SKUs, an admin user and an API client with every scope (local use only)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--admin-password", default=None)
        parser.add_argument("--api-key", default=None, help="the demo client's key (prefix.secret)")
        parser.add_argument("--port", type=int, default=8000, help="where `make run` serves, for the printed URLs")

    def handle(self, *args, admin_password: str | None, api_key: str | None, port: int, **options) -> None:
        actor = Actor(name="system:seed_demo")
        rng = random.Random(42)
        created = 0
        for index, (brand, product) in enumerate((b, p) for b in BRANDS for p in PRODUCTS):
            sku = f"SKU-{index + 1:03d}"
            if Stock.objects.filter(sku=sku).exists():
                continue
            stock_upsert(
                sku=sku,
                on_hand=rng.choice([3, 5, 10, 25, 50, 100]),
                name=f"{brand} {product}",
                brand=brand,
                unit_price=Decimal(rng.randrange(1999, 19999)) / 100,
                actor=actor,
            )
            created += 1
        in_all = Stock.objects.count()
        self.stdout.write(f"demo catalogue: SKU-001…SKU-{index + 1:03d} ({created} new; {in_all} SKUs in all)")

        password = admin_password or getattr(settings, "DEMO_ADMIN_PASSWORD", "demo-admin-pass")
        user, _ = get_user_model().objects.get_or_create(username="admin", defaults={"is_staff": True})
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        self.stdout.write(f"admin: http://127.0.0.1:{port}/admin/  user admin  password {password}")
        self.stdout.write(f"API docs: http://127.0.0.1:{port}/api/docs/")

        key = api_key or getattr(settings, "DEMO_API_KEY", "")
        self.stdout.write(f"API key ({DEMO_CLIENT}, all scopes): {self._demo_client(key)}")

    def _demo_client(self, key: str) -> str:
        prefix, _, _ = key.partition(".")
        hashed = KeyGenerator().hash(key)
        client = ApiClient.objects.filter(name=DEMO_CLIENT).first() or ApiClient(name=DEMO_CLIENT)
        client.id, client.prefix, client.hashed_key = f"{prefix}.{hashed}", prefix, hashed
        client.scopes, client.revoked = list(Scope.values), False
        ApiClient.objects.filter(name=DEMO_CLIENT).exclude(pk=client.id).delete()
        client.save()
        return key
