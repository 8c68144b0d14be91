"""Database.reading: no transaction, no writes; DriverQuery: a read asyncpg runs itself."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import (
    Integer,
    Table,
    Text,
    bindparam,
    func,
    insert,
    literal,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError, InvalidRequestError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from lfi_shared.db import Database, DriverQuery, make_metadata
from lfi_shared.testing.plugin import SchemaFactory

SCHEMA = "dbread"


class Base(DeclarativeBase):
    metadata = make_metadata(SCHEMA)


class Thing(Base):
    __tablename__ = "things"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(Text)
    rank: Mapped[int] = mapped_column(Integer)


THINGS: Table = Thing.__table__  # type: ignore[assignment]


@pytest.fixture(scope="module")
async def database(make_service_schema: SchemaFactory) -> AsyncIterator[Database]:
    # One connection: what a reading session leaves behind is what the next session gets.
    database = Database(await make_service_schema(SCHEMA), pool_size=1, max_overflow=0)
    async with database.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    async with database.transaction() as session:
        await session.execute(insert(THINGS), [{"id": uuid.uuid4(), "name": f"thing {n}",
                                               "rank": n} for n in range(5)])
    yield database
    await database.dispose()


async def test_each_statement_of_a_reading_session_is_a_transaction_of_its_own(
        database: Database) -> None:
    query = text("SELECT transaction_timestamp() FROM pg_sleep(0.01)")
    async with database.reading() as session:
        first = (await session.execute(query)).scalar_one()
        second = (await session.execute(query)).scalar_one()
    assert first != second  # autocommit: each statement began its own transaction
    async with database.transaction() as session:
        first = (await session.execute(query)).scalar_one()
        second = (await session.execute(query)).scalar_one()
    assert first == second


async def test_a_reading_session_refuses_to_write(database: Database) -> None:
    async with database.reading() as session:
        session.add(Thing(name="sneaked in", rank=99))
        with pytest.raises(InvalidRequestError):
            await session.flush()
        session.expunge_all()
        with pytest.raises(InvalidRequestError):
            await session.execute(insert(THINGS).values(id=uuid.uuid4(), name="nope", rank=98))
    async with database.reading() as session:
        ranks = set((await session.scalars(select(Thing.rank))).all())
    assert ranks == {0, 1, 2, 3, 4}


async def test_the_connection_a_reading_session_used_still_rolls_back(
        database: Database) -> None:
    async with database.reading() as session:
        await session.execute(select(literal(1)))
    with pytest.raises(RuntimeError):
        async with database.transaction() as session:
            session.add(Thing(name="rolled back", rank=50))
            await session.flush()
            raise RuntimeError("undo")
    async with database.transaction() as session:
        assert (await session.scalars(select(Thing).where(Thing.rank == 50))).first() is None


def _ranked() -> DriverQuery:
    return DriverQuery(select(func.count(), func.string_agg(THINGS.c.name, literal(",")))
                       .where(THINGS.c.rank >= bindparam("least"), THINGS.c.name != "x"))


async def test_driver_query_binds_by_name_and_returns_the_row(database: Database) -> None:
    query = _ranked()
    async with database.reading() as session:
        count, names = await query.fetchrow(session, {"least": 3, "unused": "ignored"})
        assert (count, set(names.split(","))) == (2, {"thing 3", "thing 4"})
        # A session that holds a connection already lends it.
        pid = (await session.execute(select(func.pg_backend_pid()))).scalar_one()
        (same,) = await DriverQuery(select(func.pg_backend_pid())).fetchrow(session, {})
        assert same == pid


async def test_driver_query_runs_only_in_a_reading_session(database: Database) -> None:
    async with database.transaction() as session:
        with pytest.raises(InvalidRequestError):
            await _ranked().fetchrow(session, {"least": 0})


async def test_driver_query_failures_are_sqlalchemy_errors(
        database: Database) -> None:
    broken = DriverQuery(select(func.sqrt(bindparam("n", type_=Integer))))
    async with database.reading() as session:
        with pytest.raises(DBAPIError) as refused:
            await broken.fetchrow(session, {"n": -1})
    assert not refused.value.connection_invalidated
    assert isinstance(refused.value.orig, asyncpg.PostgresError)

    # The connection is ended under the query (as a failover would): invalidated, and the
    # next read gets a new one.
    pid_query = DriverQuery(select(func.pg_backend_pid()))
    cut = DriverQuery(select(func.pg_terminate_backend(func.pg_backend_pid())))
    async with database.reading() as session:
        (pid,) = await pid_query.fetchrow(session, {})
        with pytest.raises(DBAPIError) as lost:
            await cut.fetchrow(session, {})
    assert lost.value.connection_invalidated
    async with database.reading() as session:
        (again,) = await pid_query.fetchrow(session, {})
    assert again != pid


async def test_a_reading_session_gives_its_connection_back(database: Database) -> None:
    pool = database.engine.sync_engine.pool
    async with database.reading() as session:
        pass  # never connected: nothing to give back
    assert pool.checkedout() == 0  # type: ignore[attr-defined]
    async with database.reading() as session:
        await session.execute(select(literal(1)))
        assert pool.checkedout() == 1  # type: ignore[attr-defined]
    assert pool.checkedout() == 0  # type: ignore[attr-defined]
    async with database.reading() as session:
        await DriverQuery(select(literal(1))).fetchrow(session, {})
    assert pool.checkedout() == 0  # type: ignore[attr-defined]
