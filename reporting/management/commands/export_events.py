"""On-demand export: the same service the beat schedule runs."""

from django.core.management.base import BaseCommand

from reporting.services import events_export


class Command(BaseCommand):
    help = "Export unexported outbox events to JSONL.gz and CSV batch files (redoing any left pending)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=None, help="events per batch file")

    def handle(self, *args, batch_size: int | None, **options) -> None:
        batches = events_export(batch_size=batch_size)
        for batch in batches:
            self.stdout.write(
                f"batch {batch.pk}: events {batch.first_event_id}..{batch.last_event_id} "
                f"({batch.event_count}) -> {batch.jsonl_file}, {batch.csv_file}"
            )
        self.stdout.write(self.style.SUCCESS(f"{len(batches)} batch(es) published"))
