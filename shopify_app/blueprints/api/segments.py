"""/api/segments: saved audiences and fast counts."""

from __future__ import annotations

from flask import Response, g, jsonify

from ...schemas.segments import SegmentCountSchema, SegmentCreateSchema, SegmentSchema, SegmentUpdateSchema
from ...services.campaigns import segments
from .blueprint import bp
from .common import audit_target, json_body

segment_schema = SegmentSchema()


@bp.get("/segments")
def list_segments() -> Response:
    return jsonify({"items": segment_schema.dump(segments.list_segments(shop=g.shop), many=True)})


@bp.post("/segments")
def create_segment() -> tuple[Response, int]:
    segment = segments.save_segment(shop=g.shop, data=json_body(SegmentCreateSchema()))
    audit_target("segment", segment.id)
    return jsonify(segment_schema.dump(segment)), 201


@bp.get("/segments/<int:segment_id>")
def get_segment(segment_id: int) -> Response:
    return jsonify(segment_schema.dump(segments.get_segment(shop=g.shop, segment_id=segment_id)))


@bp.patch("/segments/<int:segment_id>")
def update_segment(segment_id: int) -> Response:
    data = json_body(SegmentUpdateSchema())
    segment = segments.get_segment(shop=g.shop, segment_id=segment_id)
    return jsonify(segment_schema.dump(segments.save_segment(shop=g.shop, data=data, segment=segment)))


@bp.delete("/segments/<int:segment_id>")
def delete_segment(segment_id: int) -> tuple[str, int]:
    segments.delete_segment(shop=g.shop, segment_id=segment_id)
    return "", 204


@bp.get("/segments/<int:segment_id>/count")
def count_segment(segment_id: int) -> Response:
    segment = segments.get_segment(shop=g.shop, segment_id=segment_id)
    return jsonify(segments.count_audience(shop=g.shop, filters=segments.segment_filters(segment)))


@bp.post("/segments/count")
def count_filters() -> Response:
    """Count an unsaved filter set (the segment editor's live preview): `{"filters": {...}}`."""
    return jsonify(segments.count_audience(shop=g.shop, filters=json_body(SegmentCountSchema())["filters"]))
