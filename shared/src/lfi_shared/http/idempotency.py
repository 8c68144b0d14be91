"""Idempotent creates: the same ``Idempotency-Key`` and body give the first response again.

The key is claimed by inserting its row at the start of the request's own transaction, so a
concurrent retry with the same key waits for the first to commit and then replays its
response; if the first fails, its claim rolls back with it. (A create whose writes are one
statement claims the key in that statement, with its answer: see :class:`IdempotencyStore`.)
The same key with another body is refused with 422.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Header
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel
from sqlalchemy import (
    CTE,
    Column,
    ColumnElement,
    DateTime,
    Integer,
    MetaData,
    Select,
    Table,
    Text,
    bindparam,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import JSONResponse

from lfi_shared.http.problems import FieldError, InvalidRequest

IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$",
    description="Any unique string (a UUID is best). Repeating a create with the same key and "
                "body returns the first response again; another body with it gives 422.",
)]

REPLAYED_HEADER = "Idempotent-Replayed"


def add_idempotency_table(metadata: MetaData) -> Table:
    """The ``idempotency_keys`` table in the service's schema."""
    return Table(
        "idempotency_keys",
        metadata,
        Column("owner", Text, primary_key=True),
        Column("key", Text, primary_key=True),
        Column("operation", Text, nullable=False),
        Column("request_hash", Text, nullable=False),
        Column("status_code", Integer, nullable=True),
        Column("response_body", JSONB, nullable=True),
        Column("response_headers", JSONB, nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


def request_fingerprint(payload: Any) -> str:
    """The SHA-256 of the request's canonical JSON (sorted keys, no spaces)."""
    # A model's JSON dump is what jsonable_encoder would make of it, without walking it twice.
    data = (payload.model_dump(mode="json", by_alias=True) if isinstance(payload, BaseModel)
            else jsonable_encoder(payload))
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class CreatedResponse:
    """What a create answered. ``body`` is JSON-ready (say ``model.model_dump(mode="json")``):
    it is stored as it is and sent as it is."""

    status_code: int
    body: Any
    headers: Mapping[str, str]

    def to_response(self, *, replayed: bool = False) -> JSONResponse:
        headers = dict(self.headers)
        if replayed:
            headers[REPLAYED_HEADER] = "true"
        return JSONResponse(self.body, status_code=self.status_code, headers=headers)


@dataclass(frozen=True, slots=True)
class IdempotencyClaim:
    """A create's claim on its ``Idempotency-Key``: whose key, which operation, which request
    (the fingerprint of its body)."""

    owner: str
    key: str
    operation: str
    request_hash: str

    def parameters(self) -> dict[str, str]:
        """The key's parameters (of :meth:`IdempotencyStore.with_stored_answer` and of the
        claim)."""
        return {"claim_owner": self.owner, "claim_key": self.key,
                "claim_operation": self.operation, "claim_request_hash": self.request_hash}

    def answer_parameters(self, created: CreatedResponse) -> dict[str, Any]:
        """The parameters of :meth:`IdempotencyStore.storing`: the key and the response."""
        return self.parameters() | {
            "answer_status_code": created.status_code, "answer_body": created.body,
            "answer_headers": dict(created.headers)}


class IdempotencyStore:
    """Claims keys and stores the responses of idempotent creates.

    :meth:`run` does it all around a ``create`` callback: the key is claimed first, in the
    request's transaction, and answered after ``create``.

    A create whose writes are one statement takes three steps instead, in two round trips:
    :meth:`claim` (no I/O); its first query reads the key's stored answer as well
    (:meth:`with_stored_answer`), which :meth:`replay_stored` replays; then its write claims the
    key, stores the answer and writes the create's rows all in one statement
    (:meth:`storing`), each of its rows written only if the key was :attr:`claimed` by it. If
    another request claimed the key in between, nothing is written and :meth:`replay` answers
    with that request's response. No key is ever claimed without its answer, so this holds
    outside a transaction too (each statement committing on its own).
    """

    def __init__(self, table: Table) -> None:
        self.table = table
        # Built once: SQLAlchemy then reuses their compiled form for every request.
        keyed = ((table.c.owner == bindparam("claim_owner"))
                 & (table.c.key == bindparam("claim_key")))
        claim_values = {"owner": bindparam("claim_owner", type_=Text),
                        "key": bindparam("claim_key", type_=Text),
                        "operation": bindparam("claim_operation", type_=Text),
                        "request_hash": bindparam("claim_request_hash", type_=Text)}
        answer_values = {
            "status_code": bindparam("answer_status_code", type_=table.c.status_code.type),
            "response_body": bindparam("answer_body", type_=table.c.response_body.type),
            "response_headers": bindparam("answer_headers", type_=table.c.response_headers.type)}
        self._claim = (insert(table).values(claim_values).on_conflict_do_nothing()
                       .returning(table.c.key))
        self._claimed = select(table).where(keyed)
        self._answer = update(table).where(keyed).values(answer_values)
        self._stored = select(func.jsonb_build_object(
            "operation", table.c.operation, "request_hash", table.c.request_hash,
            "status_code", table.c.status_code, "response_body", table.c.response_body,
            "response_headers", table.c.response_headers, type_=JSONB,
        )).where(keyed).scalar_subquery()
        answered_claim = (insert(table).values(claim_values | answer_values)
                          .on_conflict_do_nothing().returning(table.c.key)
                          .cte("idempotency_claim"))
        self.claimed: ColumnElement[bool] = select(answered_claim.c.key).exists()
        """True in :meth:`storing`'s statement if it claimed the key: the condition of each of
        its writes."""

    def claim(self, *, key: str | None, owner: str, operation: str,
              payload: Any) -> IdempotencyClaim | None:
        """The claim a create with ``key`` makes (``None`` without a key); nothing is written."""
        if key is None:
            return None
        return IdempotencyClaim(owner=owner, key=key, operation=operation,
                                request_hash=request_fingerprint(payload))

    def with_stored_answer(self, query: Select[Any]) -> Select[Any]:
        """``query`` with a last column ``idempotency_answer``: what is stored for the key
        (parameters: :meth:`IdempotencyClaim.parameters`), or ``None``. Build it once."""
        return query.add_columns(self._stored.label("idempotency_answer"))

    def replay_stored(self, claim: IdempotencyClaim,
                      stored: Mapping[str, Any] | None) -> JSONResponse | None:
        """The response stored for ``claim``'s key (from :meth:`with_stored_answer`) replayed,
        or ``None`` when nothing is stored.

        Raises :class:`InvalidRequest` when the key was used for a different request.
        """
        if stored is None:
            return None
        return self._replayed(claim, stored)

    def storing(self, *writes: CTE) -> Select[Any]:
        """The statement claiming the key with the create's response stored (parameters:
        :meth:`IdempotencyClaim.answer_parameters`) and ``writes`` riding on it; its one column
        ``claimed`` says whether it claimed the key (else :meth:`replay`). Each write is a
        data-modifying CTE that writes only where :attr:`claimed` (say ``INSERT ... SELECT
        ... WHERE`` it). Build it once."""
        return select(self.claimed.label("claimed")).add_cte(*writes)

    async def replay(self, session: AsyncSession, claim: IdempotencyClaim) -> JSONResponse:
        """The stored response of the request that claimed ``claim``'s key first.

        Raises :class:`InvalidRequest` when the key was used for a different request.
        """
        row = (await session.execute(
            self._claimed, {"claim_owner": claim.owner, "claim_key": claim.key})
        ).mappings().one()
        return self._replayed(claim, row)

    @staticmethod
    def _replayed(claim: IdempotencyClaim, stored: Mapping[Any, Any]) -> JSONResponse:
        if stored["operation"] != claim.operation or stored["request_hash"] != claim.request_hash:
            raise InvalidRequest(
                "This Idempotency-Key was already used for a different request.",
                errors=[FieldError(field="header.Idempotency-Key",
                                   message="key reused with a different request",
                                   code="idempotency_key_reused")],
            )
        return CreatedResponse(
            status_code=stored["status_code"], body=stored["response_body"],
            headers=stored["response_headers"] or {},
        ).to_response(replayed=True)

    async def run(
        self,
        session: AsyncSession,
        *,
        key: str | None,
        owner: str,
        operation: str,
        payload: Any,
        create: Callable[[], Awaitable[CreatedResponse]],
    ) -> JSONResponse:
        """Run ``create`` once per (owner, key); replay its response for a repeat.

        Raises :class:`InvalidRequest` when the key was used for a different request.
        """
        claim = self.claim(key=key, owner=owner, operation=operation, payload=payload)
        if claim is None:
            return (await create()).to_response()
        claimed = await session.execute(self._claim, claim.parameters())
        if claimed.first() is None:
            return await self.replay(session, claim)
        created = await create()
        await session.execute(self._answer, claim.answer_parameters(created))
        return created.to_response()
