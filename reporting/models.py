from django.db import models
from django.db.models import Q


class ExportBatch(models.Model):
    """One exported file pair (JSONL.gz and CSV) of outbox events.

    Membership is `Event.exported_batch`, fixed when the batch is created; the files are written
    afterwards and the batch becomes visible to analysts only when it is `published`.
    """

    class Status(models.TextChoices):
        PENDING = "pending"  # events claimed; files not (completely) written yet
        PUBLISHED = "published"  # files written and checksummed: downloadable, never changes again

    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    period_start = models.DateTimeField(null=True, blank=True, help_text="occurred_at of the earliest event")
    period_end = models.DateTimeField(null=True, blank=True, help_text="occurred_at of the latest event")
    event_count = models.PositiveIntegerField(default=0)
    first_event_id = models.BigIntegerField(null=True, blank=True)
    last_event_id = models.BigIntegerField(null=True, blank=True)
    # Each attempt at writing the files takes a lease and writes under its own names, so a slow or
    # crashed attempt can never overwrite or publish over the attempt that took over from it.
    attempts = models.PositiveIntegerField(default=0)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    published_at = models.DateTimeField(null=True, blank=True)
    jsonl_file = models.CharField(max_length=255, blank=True, default="")
    jsonl_sha256 = models.CharField(max_length=64, blank=True, default="")
    jsonl_size = models.PositiveBigIntegerField(default=0)
    csv_file = models.CharField(max_length=255, blank=True, default="")
    csv_sha256 = models.CharField(max_length=64, blank=True, default="")
    csv_size = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "export batches"
        indexes = [models.Index(fields=["id"], condition=Q(status="pending"), name="exportbatch_pending")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="pending")
                | (
                    Q(published_at__isnull=False)
                    & ~Q(jsonl_file="")
                    & ~Q(csv_file="")
                    & ~Q(jsonl_sha256="")
                    & ~Q(csv_sha256="")
                ),
                name="exportbatch_published_complete",
            )
        ]

    def __str__(self) -> str:
        return f"batch {self.pk} ({self.event_count} events, {self.status})"
