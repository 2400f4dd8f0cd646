"""LayerPolicies on a real store: parallel writers, and stores made before the table."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import text

from stratus.errors import PreconditionFailedException
from stratus.functions.code import CodeStore
from stratus.functions.layer_policy import LayerPolicies
from stratus.functions.layers import LayerService
from stratus.store import BlobStore, open_database

REGION = "us-east-1"
ACCOUNT = "123456789012"


def make_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("python/helper.py", "VALUE = 1\n")
    return buffer.getvalue()


def open_layers(data: Path) -> LayerService:
    code = CodeStore(BlobStore(data / "blobs"), data / "code")
    return LayerService(open_database(data / "stratus.db"), code, REGION, ACCOUNT)


@pytest.fixture
def layers(tmp_path: Path) -> Iterator[LayerService]:
    service = open_layers(tmp_path)
    yield service
    service.engine.dispose()


def test_parallel_adds_to_one_version_all_land(layers: LayerService) -> None:
    # Terraform creates a layer's permissions in parallel (10 at a time by default).
    layers.publish("shared", make_zip())
    policies = LayerPolicies(layers)
    sids = [f"account-{i}" for i in range(20)]
    with ThreadPoolExecutor(max_workers=10) as pool:
        added = list(
            pool.map(
                lambda sid: policies.add("shared", 1, sid, "lambda:GetLayerVersion", "*"), sids
            )
        )
    policy, revision = policies.get("shared", 1)
    assert sorted(s["Sid"] for s in json.loads(policy)["Statement"]) == sorted(sids)
    assert len({rev for _, rev in added}) == len(sids)
    assert revision in {rev for _, rev in added}


def test_a_stale_revision_loses_to_the_write_before_it(layers: LayerService) -> None:
    layers.publish("shared", make_zip())
    policies = LayerPolicies(layers)
    _, first = policies.add("shared", 1, "a", "lambda:GetLayerVersion", "*")
    policies.add("shared", 1, "b", "lambda:GetLayerVersion", "*", revision_id=first)
    with pytest.raises(PreconditionFailedException):
        policies.add("shared", 1, "c", "lambda:GetLayerVersion", "*", revision_id=first)


def test_a_store_made_before_layer_policies_gets_their_table(tmp_path: Path) -> None:
    old = open_layers(tmp_path)
    old.publish("shared", make_zip())
    with old.engine.begin() as conn:
        conn.execute(text("DROP TABLE layer_version_policies"))
    old.engine.dispose()

    upgraded = open_layers(tmp_path)
    try:
        policies = LayerPolicies(upgraded)
        policies.add("shared", 1, "everyone", "lambda:GetLayerVersion", "*")
        policy, _ = policies.get("shared", 1)
        assert [s["Sid"] for s in json.loads(policy)["Statement"]] == ["everyone"]
    finally:
        upgraded.engine.dispose()
