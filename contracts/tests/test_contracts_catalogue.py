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


def test_the_catalogue_holds_only_the_platforms_producers() -> None:
    from typing import ClassVar

    from lfi_shared.messaging import EventContract, contract_registry

    class Elsewhere(EventContract):
        event_type: ClassVar[str] = "lfi.elsewhere.thing.happened.v1"
        thing_id: str

    try:
        types = all_contracts().event_types()
        assert "lfi.elsewhere.thing.happened.v1" not in types
        assert "lfi.referrals.referral.submitted.v1" in types
    finally:
        contract_registry.unregister(Elsewhere.event_type)
