"""Every published contract is well formed and belongs to the module of its producer."""

from __future__ import annotations

from lfi_contracts import PRODUCERS, all_contracts


def test_every_contract_lives_in_its_producers_module() -> None:
    catalogue = all_contracts()
    for producer in PRODUCERS:
        for event_type in catalogue.event_types(producer=producer):
            contract = catalogue.get(event_type)
            assert contract.__module__ == f"lfi_contracts.{producer}", event_type


def test_every_contract_has_a_json_schema_with_its_id() -> None:
    catalogue = all_contracts()
    for producer in PRODUCERS:
        for event_type, schema in catalogue.json_schemas(producer=producer).items():
            assert schema.get("$id", "").endswith(event_type)
            assert schema.get("type") == "object"
