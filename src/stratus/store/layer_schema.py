"""Tables of Lambda layers, on the shared `metadata` so `create_all` makes them too."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, String, Table, Text

from stratus.store.schema import metadata

#: One row per layer name ever published. The row outlives its versions: it holds the
#: last version number handed out, because Lambda never reuses a version number, even
#: after every version of the layer has been deleted.
layers = Table(
    "layers",
    metadata,
    Column("name", String(140), primary_key=True),
    Column("created_at", BigInteger, nullable=False),
    Column("last_version", Integer, nullable=False),
)

#: One row per live layer version: a JSON `LayerVersion` record.
layer_versions = Table(
    "layer_versions",
    metadata,
    Column("layer_name", String(140), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("record", Text, nullable=False),
)

#: The resource policy of a layer version (AddLayerVersionPermission). No row means no
#: policy: the row goes with its last statement and with its version. Declared on the
#: shared metadata, so `create_all` adds the table to a store made before it existed.
layer_version_policies = Table(
    "layer_version_policies",
    metadata,
    Column("layer_name", String(140), primary_key=True),
    Column("version", Integer, primary_key=True),
    #: JSON list of `PolicyStatement` records, in the order they were added.
    Column("statements", Text, nullable=False),
    #: The policy's own RevisionId, renewed by every add and remove (unlike a function
    #: policy's, which is its function's, a layer version has no RevisionId).
    Column("revision_id", String(36), nullable=False),
)
