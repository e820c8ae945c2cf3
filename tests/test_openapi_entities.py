"""``openapi.yaml`` types every entity: a generator makes a model per entity's fields
and data from it, and a third-party validator takes the document as OpenAPI 3."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from openapi_spec_validator import validate

from server.entity_schemas import class_name
from sync.registry import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
TYPES = {"text": "string", "ref": "string", "time": "string", "integer": "integer", "real": "number",
         "boolean": "boolean"}


@pytest.fixture(scope="module")
def document() -> dict:
    return yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))


def _target(schema: dict) -> str:
    ref = schema["allOf"][0]["$ref"] if "allOf" in schema else schema["$ref"]
    return ref.rsplit("/", 1)[1]


def test_openapi_yaml_is_valid_openapi_by_openapi_spec_validator(document):
    validate(document)


@pytest.mark.parametrize("entity", REGISTRY.names)
def test_every_entity_has_a_typed_schema_for_the_fields_it_writes_and_the_data_it_reads(document, entity):
    schemas = document["components"]["schemas"]
    spec = REGISTRY.get(entity)
    written = schemas[f"{class_name(entity)}Fields"]["properties"]
    shown = schemas[f"{class_name(entity)}Data"]["properties"]
    assert set(written) == {f.name for f in spec.fields if not f.server_owned}
    assert set(shown) == set(spec.field_names)
    for f in spec.fields:
        for prop in ([written[f.name]] if not f.server_owned else []) + [shown[f.name]]:
            if f.type == "json":
                assert "type" in prop or "oneOf" in prop or entity == "conflict", (entity, f.name)
            elif f.type == "boolean" and "oneOf" in prop:  # written: true / false, or SQLite's 0 / 1
                assert prop["oneOf"] == [{"type": "boolean"}, {"type": "integer", "enum": [0, 1]}]
            else:
                assert prop["type"] == TYPES[f.type], (entity, f.name)
            assert prop["nullable"] is True
            if f.choices is not None:
                assert prop["enum"] == [*f.choices, None]


def test_push_pull_and_row_lookup_name_the_typed_schema_of_every_entity_by_its_name(document):
    schemas = document["components"]["schemas"]
    changeset = schemas["ChangeSet"]["properties"]["mutations"]["items"]["$ref"].rsplit("/", 1)[1]
    page = schemas["PullAnswer"]["properties"]["changes"]["items"]["$ref"].rsplit("/", 1)[1]
    for generic, member, typed in ((changeset, "fields", "Fields"), (page, "data", "Data"), ("Row", "data", "Data")):
        union = schemas[generic]
        assert union["discriminator"]["propertyName"] == "entity"
        mapping = union["discriminator"]["mapping"]
        assert list(mapping) == list(REGISTRY.names)
        assert [o["$ref"] for o in union["oneOf"]] == list(mapping.values())
        for entity, ref in mapping.items():
            one = schemas[ref.rsplit("/", 1)[1]]
            assert one["properties"]["entity"]["enum"] == [entity]
            assert _target(one["properties"][member]) == f"{class_name(entity)}{typed}"
    row = document["paths"]["/v1/sync/rows/{entity}/{row_id}"]["get"]["responses"]["200"]
    assert row["content"]["application/json"]["schema"]["$ref"].endswith("/Row")
