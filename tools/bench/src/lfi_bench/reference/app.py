"""The reference app: ``POST /reference/rows`` inserts a row, ``GET /reference/rows/{id}``
reads one."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request
from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict
from sqlalchemy import DateTime, String
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from lfi_shared.db import Database, make_metadata
from lfi_shared.settings import ServiceSettings

SCHEMA = "reference"


class ReferenceSettings(ServiceSettings):
    """Environment variables prefixed ``LFI_BENCH_REFERENCE_`` (set by the bench)."""

    model_config = SettingsConfigDict(env_prefix="LFI_BENCH_REFERENCE_", extra="ignore",
                                      frozen=True)

    service_name: str = "bench-reference"
    db_schema: str = SCHEMA


@lru_cache(maxsize=1)
def get_settings() -> ReferenceSettings:
    return ReferenceSettings()


class Base(DeclarativeBase):
    metadata = make_metadata(SCHEMA)


class ReferenceRow(Base):
    __tablename__ = "rows"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RowCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class RowRead(BaseModel):
    id: uuid.UUID
    name: str
    created_at: datetime


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed once at the end (as the services do)."""
    database: Database = request.app.state.database
    async with database.transaction() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(_session)]


def create_app(settings: ReferenceSettings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.database = Database(
            settings.database_url, pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow, application_name="lfi-bench-reference",
        )
        try:
            yield
        finally:
            await app.state.database.dispose()

    app = FastAPI(title="Bench reference", lifespan=lifespan)

    @app.post("/reference/rows", status_code=201)
    async def insert_row(body: RowCreate, session: SessionDep) -> RowRead:
        row = ReferenceRow(id=uuid.uuid4(), name=body.name, created_at=datetime.now(UTC))
        session.add(row)
        await session.flush()
        return RowRead(id=row.id, name=row.name, created_at=row.created_at)

    @app.get("/reference/rows/{row_id}")
    async def read_row(row_id: uuid.UUID, session: SessionDep) -> RowRead:
        row = await session.get(ReferenceRow, row_id)
        if row is None:
            raise HTTPException(status_code=404, detail="no such row")
        return RowRead(id=row.id, name=row.name, created_at=row.created_at)

    @app.get("/health/ready")
    async def ready() -> dict[str, str]:
        await app.state.database.ping()
        return {"status": "ready"}

    return app


async def create_tables(database_url: str) -> None:
    """Create the reference table (as the schema's owner role)."""
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
    finally:
        await engine.dispose()
