"""Idempotent creates: the same ``Idempotency-Key`` and body give the first response again.

The key is claimed by inserting its row at the start of the request's own transaction, so a
concurrent retry with the same key waits for the first to commit and then replays its
response; if the first fails, its claim rolls back with it. The same key with another body is
refused with 422.
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
    Column,
    DateTime,
    Integer,
    MetaData,
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


class IdempotencyStore:
    """Claims keys and stores the responses of idempotent creates."""

    def __init__(self, table: Table) -> None:
        self.table = table
        # Built once: SQLAlchemy then reuses their compiled form for every request.
        # (The columns written are those of each call's parameters.)
        keyed = ((table.c.owner == bindparam("claim_owner"))
                 & (table.c.key == bindparam("claim_key")))
        self._claim = insert(table).on_conflict_do_nothing().returning(table.c.key)
        self._claimed = select(table).where(keyed)
        self._answer = update(table).where(keyed)

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
        if key is None:
            return (await create()).to_response()
        fingerprint = request_fingerprint(payload)
        claimed = await session.execute(self._claim, {
            "owner": owner, "key": key, "operation": operation, "request_hash": fingerprint})
        if claimed.first() is None:
            row = (await session.execute(
                self._claimed, {"claim_owner": owner, "claim_key": key})).mappings().one()
            if row["operation"] != operation or row["request_hash"] != fingerprint:
                raise InvalidRequest(
                    "This Idempotency-Key was already used for a different request.",
                    errors=[FieldError(field="header.Idempotency-Key",
                                       message="key reused with a different request",
                                       code="idempotency_key_reused")],
                )
            return CreatedResponse(
                status_code=row["status_code"], body=row["response_body"],
                headers=row["response_headers"] or {},
            ).to_response(replayed=True)
        created = await create()
        await session.execute(self._answer, {
            "claim_owner": owner, "claim_key": key, "status_code": created.status_code,
            "response_body": created.body, "response_headers": dict(created.headers)})
        return created.to_response()
