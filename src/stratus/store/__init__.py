"""Engines for state: the metadata store (SQLite | PostgreSQL) and the blob store."""

# The table modules of each service register on the shared metadata when imported.
from stratus.store import (  # noqa: F401
    gateway_schema,
    layer_schema,
    policy_schema,
    states_schema,
)
from stratus.store.blobs import BlobStore
from stratus.store.database import driver_mark, open_database

__all__ = ["BlobStore", "driver_mark", "open_database"]
