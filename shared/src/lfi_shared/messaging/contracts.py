"""Versioned event contracts and the catalogue of every contract declared in the process.

A contract is a frozen Pydantic model naming its event type::

    class PlacementOffered(EventContract):
        event_type: ClassVar[str] = "lfi.placements.placement.offered.v1"
        placement_id: UUID
        offered_on: date

Changes to a contract are additive; a breaking change is a new class with a new ``vN``.
Declaring the class registers it in :data:`contract_registry`, which the events service serves
as JSON Schemas.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict

from lfi_shared.messaging.envelope import Envelope, is_event_type, producer_of, schema_uri

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


class ContractError(TypeError):
    """A contract class is declared wrongly (bad event type name, type declared twice …)."""


class UnknownEventTypeError(LookupError):
    """No contract is registered for an event type."""


class ContractMismatchError(ValueError):
    """An envelope's type is not the contract's event type."""


class EventContract(BaseModel):
    """Base of every event contract; subclasses set ``event_type`` and their fields.

    A subclass that sets no ``event_type`` of its own is an abstract base (for shared fields)
    and is not registered; a subclass of a concrete contract must declare its own type.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_type: ClassVar[str]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        declared = cls.__dict__.get("event_type")
        if declared is None:
            if any("event_type" in base.__dict__ for base in cls.__mro__[1:]):
                raise ContractError(
                    f"{cls.__qualname__} inherits a concrete contract; declare its own event_type"
                )
            return
        if not isinstance(declared, str) or not is_event_type(declared):
            raise ContractError(
                f"{cls.__qualname__}.event_type must be lfi.<service>.<aggregate>.<event>.v<N>,"
                f" got {declared!r}"
            )
        contract_registry.register(cls)

    @classmethod
    def producer(cls) -> str:
        """The service that publishes this event (``lfi.<service>.…``)."""
        producer: str = producer_of(cls.event_type)
        return producer

    @classmethod
    def dataschema(cls) -> str:
        """The ``dataschema`` URI of this contract."""
        uri: str = schema_uri(cls.event_type)
        return uri

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """The JSON Schema (2020-12) of this contract's ``data``, with ``$id`` = ``dataschema``."""
        return {"$schema": JSON_SCHEMA_DIALECT, "$id": cls.dataschema(), **cls.model_json_schema()}

    @classmethod
    def from_envelope(cls, envelope: Envelope) -> Self:
        """The contract carried by ``envelope``.

        Fields this version does not know (added later, additively) are ignored, so an older
        consumer keeps reading a newer producer's events.

        Raises:
            ContractMismatchError: the envelope's type is another event type.
            pydantic.ValidationError: the data does not satisfy the contract.
        """
        if envelope.type != cls.event_type:
            raise ContractMismatchError(
                f"envelope of type {envelope.type!r} is not {cls.event_type!r}"
            )
        return cls.model_validate(envelope.data, extra="ignore")


class EventCatalogue:
    """All event contracts declared in this process, by event type."""

    def __init__(self) -> None:
        self._contracts: dict[str, type[EventContract]] = {}
        self._lock = threading.Lock()

    def register(self, contract: type[EventContract]) -> None:
        """Add a contract (done for you when an :class:`EventContract` subclass is declared).

        Re-declaring the same class (same module and name, e.g. a module reloaded) replaces it.

        Raises:
            ContractError: another class already declares this event type.
        """
        with self._lock:
            existing = self._contracts.get(contract.event_type)
            if existing is not None and (
                (existing.__module__, existing.__qualname__)
                != (contract.__module__, contract.__qualname__)
            ):
                raise ContractError(
                    f"{contract.event_type} is already declared by "
                    f"{existing.__module__}.{existing.__qualname__}"
                )
            self._contracts[contract.event_type] = contract

    def unregister(self, event_type: str) -> None:
        """Forget a contract (for tests that declare throw-away contracts)."""
        with self._lock:
            self._contracts.pop(event_type, None)

    def get(self, event_type: str) -> type[EventContract]:
        """The contract of ``event_type``.

        Raises:
            UnknownEventTypeError: no contract declares that type.
        """
        try:
            return self._contracts[event_type]
        except KeyError:
            raise UnknownEventTypeError(event_type) from None

    def __contains__(self, event_type: object) -> bool:
        return event_type in self._contracts

    def __iter__(self) -> Iterator[type[EventContract]]:
        return iter(sorted(self._contracts.values(), key=lambda c: c.event_type))

    def __len__(self) -> int:
        return len(self._contracts)

    def event_types(self, producer: str | None = None) -> list[str]:
        """The registered event types, sorted, optionally only those of one producer."""
        return [c.event_type for c in self if producer is None or c.producer() == producer]

    def json_schemas(self, producer: str | None = None) -> dict[str, dict[str, Any]]:
        """Event type → JSON Schema of its data, optionally only those of one producer."""
        return {t: self.get(t).json_schema() for t in self.event_types(producer)}

    def parse(self, envelope: Envelope) -> EventContract:
        """The contract instance an envelope carries.

        Raises:
            UnknownEventTypeError: no contract declares the envelope's type.
            pydantic.ValidationError: the data does not satisfy the contract.
        """
        return self.get(envelope.type).from_envelope(envelope)


contract_registry = EventCatalogue()
"""Every :class:`EventContract` declared in this process."""
