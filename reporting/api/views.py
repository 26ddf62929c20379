"""Analysts' downloads of export batches: thin views over reporting.selectors."""

import base64

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.views import APIView

from reservations.api.schema import problems
from reservations.errors import NotFound
from reservations.models import Scope

from .. import selectors
from .serializers import DownloadQuerySerializer, ExportBatchSerializer


class IgnoreFormatQueryNegotiation(DefaultContentNegotiation):
    """`?format=` here picks the file, not a DRF renderer: errors still render as problem+json."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ExportBatchPagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 500


class ExportBatchListView(ListAPIView):
    required_scopes = {"GET": Scope.REPORTS_READ}
    serializer_class = ExportBatchSerializer
    pagination_class = ExportBatchPagination

    def get_queryset(self):
        return selectors.export_batch_list()

    @extend_schema(operation_id="listExportBatches", responses={200: ExportBatchSerializer(many=True), **problems()})
    def get(self, request: Request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ExportBatchDownloadView(APIView):
    required_scopes = {"GET": Scope.REPORTS_READ}
    content_negotiation_class = IgnoreFormatQueryNegotiation

    @extend_schema(
        operation_id="downloadExportBatch",
        parameters=[
            OpenApiParameter("id", int, OpenApiParameter.PATH, description="export batch id"),
            DownloadQuerySerializer,
        ],
        responses={
            (200, "application/gzip"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="The file. `X-Checksum-SHA256` (hex) and `Repr-Digest` (RFC 9530) carry its SHA-256.",
            ),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="The CSV file (format=csv)."),
            **problems(NotFound),
        },
    )
    def get(self, request: Request, id: int) -> FileResponse:
        query = DownloadQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        stream, sha256, content_type, size, filename = selectors.export_batch_file(
            batch_id=id, file_format=query.validated_data["format"]
        )
        response = FileResponse(stream, as_attachment=True, filename=filename, content_type=content_type)
        response["Content-Length"] = str(size)
        response["X-Checksum-SHA256"] = sha256
        response["Repr-Digest"] = f"sha-256=:{base64.b64encode(bytes.fromhex(sha256)).decode()}:"
        return response
