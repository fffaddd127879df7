"""/api/contacts/imports and /api/contacts/exports: CSV in and out, as jobs when large; and the
import of Shopify's SMS subscribers (/api/contacts/shopify-import), followed like an import."""

from __future__ import annotations

from flask import Response, g, jsonify, request

from ...errors import BadRequest, ValidationFailed
from ...job_names import RUN_EXPORT, RUN_IMPORT
from ...models import TransferKind, TransferStatus
from ...schemas.contacts import ContactListQuerySchema
from ...schemas.transfers import TransferSchema
from ...services.contacts import contact_transfers, shopify_import
from . import bp
from .common import audit_target, query_args

IMPORT_MAX_BYTES = 50 * 1024 * 1024
ATTESTED = frozenset({"true", "yes", "on", "1"})
ATTESTATION_MISSING = "Confirm that every shopper this file subscribes agreed to receive your marketing texts."
transfer_schema = TransferSchema()


@bp.post("/contacts/imports")
def create_import() -> tuple[Response, int]:
    request.max_content_length = IMPORT_MAX_BYTES  # this route's own limit (the app default is 1 MB)
    upload = request.files.get("file")
    if upload is None:
        raise BadRequest("Upload the CSV as multipart form field 'file'.", code="file_required")
    # The merchant vouches for the file's consent column (who gets `subscribed`); the request's
    # audit row records who did and when.
    if (request.form.get("consent_attestation") or "").strip().lower() not in ATTESTED:
        raise ValidationFailed(ATTESTATION_MISSING, details={"fields": {"consent_attestation": [ATTESTATION_MISSING]}})
    transfer = contact_transfers.start_import(shop=g.shop, stream=upload.stream, filename=upload.filename)
    audit_target("transfer", transfer.id)
    if transfer.total_rows <= contact_transfers.INLINE_MAX_ROWS:
        transfer = contact_transfers.run_import(transfer_id=transfer.id)
        return jsonify(transfer_schema.dump(transfer)), 201
    RUN_IMPORT.delay(transfer.id, job_timeout=contact_transfers.TRANSFER_JOB_TIMEOUT)
    return jsonify(transfer_schema.dump(transfer)), 202


@bp.get("/contacts/imports/<int:transfer_id>")
def get_import(transfer_id: int) -> Response:
    """A CSV import's progress, or a Shopify import's (kind `shopify_import`)."""
    transfer = contact_transfers.get_transfer(
        shop=g.shop, transfer_id=transfer_id, kind=TransferKind.IMPORT, also=(TransferKind.SHOPIFY_IMPORT,)
    )
    return jsonify(transfer_schema.dump(transfer))


@bp.get("/contacts/shopify-import")
def current_shopify_import() -> Response | tuple[str, int]:
    """The newest import of Shopify's subscribers (204 when there has been none), so the admin
    shows the progress of the one started at install."""
    transfer = shopify_import.latest_import(shop=g.shop)
    if transfer is None:
        return "", 204
    return jsonify(transfer_schema.dump(transfer))


@bp.post("/contacts/shopify-import")
def start_shopify_import() -> tuple[Response, int]:
    """Import Shopify's SMS subscribers (a job); 202 when it starts, 200 with the one already running."""
    transfer, started = shopify_import.start(shop=g.shop)
    audit_target("transfer", transfer.id)
    return jsonify(transfer_schema.dump(transfer)), 202 if started else 200


@bp.post("/contacts/exports")
def create_export() -> tuple[Response, int]:
    query_args(ContactListQuerySchema())  # validate the filters now, not in the job
    transfer = contact_transfers.start_export(shop=g.shop, query=request.args.to_dict())
    audit_target("transfer", transfer.id)
    RUN_EXPORT.delay(transfer.id, job_timeout=3600)  # the id only: args sit in Redis
    return jsonify(transfer_schema.dump(transfer)), 202


@bp.get("/contacts/exports/<int:transfer_id>")
def get_export(transfer_id: int) -> Response:
    transfer = contact_transfers.get_transfer(shop=g.shop, transfer_id=transfer_id, kind=TransferKind.EXPORT)
    return jsonify(transfer_schema.dump(transfer))


@bp.get("/contacts/exports/<int:transfer_id>/download")
def download_export(transfer_id: int) -> Response:
    transfer = contact_transfers.get_transfer(shop=g.shop, transfer_id=transfer_id, kind=TransferKind.EXPORT)
    if transfer.status != TransferStatus.COMPLETED:
        raise BadRequest("The export is not ready yet.", code="export_not_ready")
    response = Response(contact_transfers.export_stream(transfer), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="contacts-{transfer.id}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response
