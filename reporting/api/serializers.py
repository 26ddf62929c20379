from rest_framework import serializers

from ..models import ExportBatch


class ExportBatchSerializer(serializers.ModelSerializer):
    jsonl_url = serializers.SerializerMethodField()
    csv_url = serializers.SerializerMethodField()

    class Meta:
        model = ExportBatch
        fields = [
            "id",
            "status",
            "created_at",
            "published_at",
            "period_start",
            "period_end",
            "event_count",
            "first_event_id",
            "last_event_id",
            "jsonl_sha256",
            "jsonl_size",
            "csv_sha256",
            "csv_size",
            "jsonl_url",
            "csv_url",
        ]

    def _url(self, batch: ExportBatch, file_format: str) -> str:
        return f"/api/v1/reports/batches/{batch.pk}/download/?format={file_format}"

    def get_jsonl_url(self, batch: ExportBatch) -> str:
        return self._url(batch, "jsonl")

    def get_csv_url(self, batch: ExportBatch) -> str:
        return self._url(batch, "csv")


class DownloadQuerySerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=["jsonl", "csv"], default="jsonl", help_text="jsonl (gzipped) or csv")
