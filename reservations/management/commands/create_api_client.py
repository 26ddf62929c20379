from django.core.management.base import BaseCommand, CommandError, CommandParser

from reservations.models import ApiClient, Scope


class Command(BaseCommand):
    help = "Create an API client and print its key once (only a hash is stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--scopes", help=f"comma-separated; default all of: {', '.join(Scope.values)}")

    def handle(self, *args, name: str, scopes: str | None, **options) -> None:
        chosen = list(Scope.values) if scopes is None else [s.strip() for s in scopes.split(",") if s.strip()]
        if not chosen:
            raise CommandError("--scopes names no scope; omit it to grant all")
        unknown = sorted(set(chosen) - set(Scope.values))
        if unknown:
            raise CommandError(f"unknown scopes: {', '.join(unknown)}; known: {', '.join(Scope.values)}")
        _, key = ApiClient.objects.create_key(name=name, scopes=chosen)
        self.stdout.write(f"API client {name!r} with scopes {', '.join(chosen)}")
        self.stdout.write(f"key (shown once): {key}")
