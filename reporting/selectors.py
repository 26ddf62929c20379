"""Reads of export batches for analysts."""

from typing import IO

from django.db.models import QuerySet

from reservations.errors import NotFound

from .models import ExportBatch
from .services import exports_storage

FILE_KINDS = {
    # format: (name field, checksum field, size field, content type, file suffix)
    "jsonl": ("jsonl_file", "jsonl_sha256", "jsonl_size", "application/gzip", ".jsonl.gz"),
    "csv": ("csv_file", "csv_sha256", "csv_size", "text/csv; charset=utf-8", ".csv"),
}


def export_batch_list() -> QuerySet[ExportBatch]:
    """Published batches, newest first (pending ones are not complete and never shown)."""
    return ExportBatch.objects.filter(status=ExportBatch.Status.PUBLISHED).order_by("-id")


def export_batch_file(*, batch_id: int, file_format: str) -> tuple[IO[bytes], str, str, int, str]:
    """An open published batch file: (stream, sha256 hex, content type, size, download name)."""
    batch = export_batch_list().filter(pk=batch_id).first()
    if batch is None:
        raise NotFound(f"no published export batch {batch_id}")
    name_field, sha_field, size_field, content_type, suffix = FILE_KINDS[file_format]
    stream = exports_storage().open(getattr(batch, name_field), "rb")
    download_name = f"events-{batch.pk:08d}{suffix}"
    return stream, getattr(batch, sha_field), content_type, getattr(batch, size_field), download_name
