"""Versioned event contracts and their catalogue."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any, ClassVar

import pytest
from pydantic import ValidationError

from lfi_shared.messaging import (
    ContractError,
    ContractMismatchError,
    EventContract,
    UnknownEventTypeError,
    contract_registry,
    new_envelope,
)

OFFERED = "lfi.ctest.placement.offered.v1"


@pytest.fixture
def placement_offered() -> Iterator[Any]:
    class PlacementOffered(EventContract):
        event_type: ClassVar[str] = OFFERED
        placement_id: uuid.UUID
        offered_on: date

    yield PlacementOffered
    contract_registry.unregister(OFFERED)


def test_declaring_a_contract_registers_it_with_its_json_schema(
    placement_offered: Any,
) -> None:
    assert contract_registry.get(OFFERED) is placement_offered
    assert OFFERED in contract_registry.event_types(producer="ctest")

    schema = contract_registry.json_schemas(producer="ctest")[OFFERED]
    assert schema["$id"] == "urn:lfi:schema:" + OFFERED
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert set(schema["required"]) == {"placement_id", "offered_on"}
    assert schema["additionalProperties"] is False
    assert placement_offered.producer() == "ctest"


@pytest.mark.parametrize(
    "bad_type",
    [
        "ctest.placement.offered.v1",  # no lfi. prefix
        "lfi.ctest.placement.offered",  # no version
        "lfi.ctest.offered.v1",  # no aggregate
        "lfi.ctest.placement.offered.v0",  # versions start at 1
        "lfi.ctest.placement.offered.V1",
        "lfi.Ctest.placement.offered.v1",
        "lfi.ctest.placement.offered.v1.extra",
        "lfi.ctest.placement.offered-now.v1",
        "",
    ],
)
def test_badly_named_event_types_are_rejected_at_declaration(bad_type: str) -> None:
    with pytest.raises(ContractError):

        class Bad(EventContract):
            event_type: ClassVar[str] = bad_type

    assert bad_type not in contract_registry


def test_two_contracts_cannot_declare_the_same_event_type(
    placement_offered: Any,
) -> None:
    with pytest.raises(ContractError, match="already declared"):

        class Impostor(EventContract):
            event_type: ClassVar[str] = OFFERED

    assert contract_registry.get(OFFERED) is placement_offered


def test_a_subclass_of_a_concrete_contract_must_name_its_own_type(
    placement_offered: Any,
) -> None:
    with pytest.raises(ContractError, match="declare its own event_type"):

        class Sneaky(placement_offered):  # type: ignore[misc]
            note: str


def test_an_abstract_base_without_a_type_is_not_registered() -> None:
    before = len(contract_registry)

    class PlacementEvent(EventContract):
        placement_id: uuid.UUID

    class PlacementWithdrawn(PlacementEvent):
        event_type: ClassVar[str] = "lfi.ctest.placement.withdrawn.v1"

    try:
        assert len(contract_registry) == before + 1
        assert contract_registry.get("lfi.ctest.placement.withdrawn.v1") is PlacementWithdrawn
    finally:
        contract_registry.unregister("lfi.ctest.placement.withdrawn.v1")


def test_contracts_forbid_unknown_fields_and_are_frozen(
    placement_offered: Any,
) -> None:
    with pytest.raises(ValidationError):
        placement_offered(placement_id=uuid.uuid4(), offered_on=date(2025, 9, 1), typo=1)
    offered = placement_offered(placement_id=uuid.uuid4(), offered_on=date(2025, 9, 1))
    with pytest.raises(ValidationError):
        offered.offered_on = date(2025, 9, 2)


def test_envelope_data_parses_back_into_its_contract(
    placement_offered: Any,
) -> None:
    offered = placement_offered(placement_id=uuid.uuid4(), offered_on=date(2025, 9, 1))
    data = offered.model_dump(mode="json") | {"added_in_a_later_release": "ignored"}
    envelope = new_envelope(event_type=OFFERED, source="/lfi/ctest", subject="p-1", data=data)

    assert placement_offered.from_envelope(envelope) == offered
    assert contract_registry.parse(envelope) == offered


def test_parsing_needs_the_right_contract(placement_offered: Any) -> None:
    other = new_envelope(event_type="lfi.ctest.placement.refused.v1", source="/lfi/ctest",
                         subject="p-1", data={})
    with pytest.raises(ContractMismatchError):
        placement_offered.from_envelope(other)
    with pytest.raises(UnknownEventTypeError):
        contract_registry.parse(other)
    broken = new_envelope(event_type=OFFERED, source="/lfi/ctest", subject="p-1",
                          data={"placement_id": "nope"})
    with pytest.raises(ValidationError):
        contract_registry.parse(broken)
