"""What a version's metadata.json and the store's registry.json must hold, checked on every read.

A damaged or hand-edited file is reported with what is wrong in it, never trusted: serving and
every command read these files through the schemas here.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any

from marshmallow import INCLUDE, Schema, ValidationError, fields, validate

from ..service.errors import flatten_messages

METADATA_FILE = "metadata.json"
REGISTRY_FILE = "registry.json"
SHA256_HEX = validate.Regexp(r"^[0-9a-f]{64}$")


class VersionNumber(fields.Integer):
    """A version number in registry.json: a positive integer (a boolean is not one)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, validate=validate.Range(min=1), **kwargs)

    def _validated(self, value: Any) -> int:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return super()._validated(value)


def relative_path(name: str) -> None:
    """Artifact paths in metadata.json stay inside their version folder."""
    path = PurePosixPath(name)
    if not name or path.is_absolute() or ".." in path.parts or str(path) == METADATA_FILE:
        raise ValidationError(f"{name!r} is not a path inside the version folder.")


class HistoryEntrySchema(Schema):
    class Meta:
        unknown = INCLUDE

    time = fields.String(required=True)
    action = fields.String(required=True, validate=validate.OneOf(("promote", "rollback")))
    alias = fields.String(required=True)
    previous = VersionNumber(data_key="from", required=True, allow_none=True)
    to = VersionNumber(required=True)


class RegistrySchema(Schema):
    """registry.json: checked on every read, so a damaged file is reported, never trusted."""

    class Meta:
        unknown = INCLUDE

    aliases = fields.Dict(keys=fields.String(), values=VersionNumber(), required=True)
    history = fields.List(fields.Nested(HistoryEntrySchema), required=True)


class MetadataSchema(Schema):
    """The parts of metadata.json that loading and serving rely on; other keys are free."""

    class Meta:
        unknown = INCLUDE

    framework = fields.String(required=True)
    serializer = fields.String(required=True)
    task = fields.String(required=True)
    features = fields.List(fields.String(), required=True)
    created_at = fields.String(required=True)
    sha256 = fields.String(required=True, validate=SHA256_HEX)
    files = fields.Dict(
        keys=fields.String(validate=relative_path),
        values=fields.String(validate=SHA256_HEX),
        required=True,
        validate=validate.Length(min=1, error="Records no artifact file."),
    )
    metrics = fields.Dict(keys=fields.String(), values=fields.Float())


def structure_problems(schema: Schema, data: Any) -> str | None:
    """What in ``data`` (a JSON file's content) ``schema`` refuses, on one line; None if nothing."""
    problems = schema.validate(data) if isinstance(data, dict) else {"": ["Not a JSON object."]}
    if not problems:
        return None
    return "; ".join(
        f"{field}: {' '.join(messages)}" for field, messages in flatten_messages(problems).items()
    )


def typed_features(metadata: dict[str, Any]) -> list[tuple[str, str]]:
    """The features a version was made for, with their types (all floats in early versions)."""
    types = metadata.get("feature_types") or {}
    return [(name, types.get(name, "float")) for name in metadata["features"]]


def feature_list(features: Iterable[tuple[str, str]]) -> str:
    return ", ".join(name if kind == "float" else f"{name}:{kind}" for name, kind in features)
