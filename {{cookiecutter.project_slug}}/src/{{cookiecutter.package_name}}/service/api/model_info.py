"""What model is answering: name, version, provenance and integrity digest."""

from __future__ import annotations

from flask import Blueprint

from ..operations import operation
from ..schemas import ModelInfoSchema
from ..services import services

bp = Blueprint("model_info", __name__)

# Metadata fields shown as they are; the rest (reference statistics) stay in the store.
PUBLIC_FIELDS = (
    "framework",
    "serializer",
    "task",
    "features",
    "classes",
    "created_at",
    "sha256",
    "files",
    "metrics",
    "metrics_on",
    "libraries",
    "source",
    "notes",
)


@bp.get("/v1/model")
@operation(
    "The model version that answers, with its provenance",
    answer=ModelInfoSchema,
    answer_description="The served version.",
    errors=("503",),
)
def model_info() -> dict:
    """The served version's identity, provenance and integrity digest."""
    model_holder = services().model_holder
    loaded = model_holder.get()
    body = {**model_holder.model_ref(loaded), "alias": model_holder.alias}
    body["selected_by"] = model_holder.selected_by
    body.update({key: loaded.metadata[key] for key in PUBLIC_FIELDS if key in loaded.metadata})
    body["categories"] = {name: sorted(values) for name, values in loaded.allowed_values.items()}
    body["last_refused"] = model_holder.last_refused
    body["registry_problem"] = model_holder.registry_problem
    return body
