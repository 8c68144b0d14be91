"""Release safety: the running release keeps working while its schema is expanded under it by
the next release's migration, and again after that migration is downgraded.

During a rolling update (and a rollback) the previous release and the new one serve side by
side on one schema, so a release's migration may only *expand* it (docs/operations.md,
"Migrate: expand, then contract"). Here the funding service as it is in this checkout plays
the previous release ("old code"): its database is migrated to its real head revision N. A
temporary copy of its migrations folder gets a demonstration expand migration N+1 — a nullable
column on ``budgets`` and a new table — the shape every additive release migration has. With
the old app running throughout:

1. at N, the old code's budget behaviour works (the baseline);
2. N+1 is applied while the app serves; the next release's writes (played by SQL: the old
   code cannot know the new column) land beside the old code's, and the same behaviour still
   works — create (idempotent), read with ETag, list, revise and approve with If-Match, a
   stale If-Match refused, an adjustment — without the old code disturbing what the new
   release wrote;
3. N+1 is downgraded back to N while the app serves, and the behaviour still works on what is
   left.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from alembic.script import ScriptDirectory
from asgi_lifespan import LifespanManager
from service_databases import service_database
from sqlalchemy import text

from lfi_funding.main import create_app
from lfi_funding.settings import Settings
from lfi_shared import migrations
from lfi_shared.auth import Role
from lfi_shared.db import Database
from lfi_shared.messaging import ensure_stream
from lfi_shared.testing.auth import bearer
from lfi_shared.testing.plugin import TestDatabase, service_dir

SERVICE = "funding"
EXPAND = "deploy_expand_demo"
NEW_COLUMN = "approval_reference"
NEW_TABLE = "budget_approval_notes"

pytestmark = pytest.mark.timeout(170)

EXPAND_MIGRATION = '''"""Demonstration expand migration (written by the release-safety test): additive only.

Revision ID: {revision}
Revises: {down_revision}
"""

import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = "{down_revision}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.add_column("budgets", sa.Column("{column}", sa.Text(), nullable=True), schema="{schema}")
    op.create_table(
        "{table}",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("budget_id", sa.Uuid(), sa.ForeignKey("{schema}.budgets.id"), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        schema="{schema}",
    )
    op.create_index("ix_{table}_budget_id", "{table}", ["budget_id"], schema="{schema}")


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.drop_table("{table}", schema="{schema}")
    op.drop_column("budgets", "{column}", schema="{schema}")
'''


def expanded_migrations(target: Path) -> str:
    """Copy the service's migrations to ``target`` and add the expand migration on top of the
    real head; return that head (the previous release's revision)."""
    source = service_dir(SERVICE)
    target.mkdir(parents=True)
    shutil.copy2(source / "alembic.ini", target / "alembic.ini")
    shutil.copytree(source / "migrations", target / "migrations",
                    ignore=shutil.ignore_patterns("__pycache__"))
    heads = ScriptDirectory.from_config(
        migrations.alembic_config(target, "", SERVICE)).get_heads()
    assert len(heads) == 1, f"{SERVICE} has one line of migrations: {heads}"
    (target / "migrations" / "versions" / f"{EXPAND}.py").write_text(EXPAND_MIGRATION.format(
        revision=EXPAND, down_revision=heads[0], schema=SERVICE, column=NEW_COLUMN,
        table=NEW_TABLE), encoding="utf-8")
    return heads[0]


class OldRelease:
    """The running app of the previous release, driven through its API as a user would."""

    def __init__(self, client: httpx.AsyncClient, token: Callable[..., str]) -> None:
        self.client = client
        self.officer = bearer(token(Role.funding_officer))
        self.auditor = bearer(token(Role.auditor))

    async def budget(self, fy: str) -> httpx.Response:
        r = await self.client.get(f"/v1/funding/years/{fy}/budget", headers=self.auditor)
        assert r.status_code == 200, r.text
        return r

    async def listed_years(self) -> list[str]:
        r = await self.client.get("/v1/funding/years", headers=self.auditor,
                                  params={"limit": 100})
        assert r.status_code == 200, r.text
        return [item["financial_year"] for item in r.json()["items"]]

    async def draft(self, fy: str) -> httpx.Response:
        """Create (twice with one Idempotency-Key: one budget), then read it back."""
        url, key = f"/v1/funding/years/{fy}/budget", str(uuid.uuid4())
        body = {"total": "1000000.00", "formula_block": "250000.00", "note": "draft"}
        created = await self.client.post(url, json=body,
                                         headers={**self.officer, "Idempotency-Key": key})
        assert created.status_code == 201, created.text
        assert created.json()["status"] == "draft"
        assert created.json()["cohort_block"] == "750000.00"
        again = await self.client.post(url, json=body,
                                       headers={**self.officer, "Idempotency-Key": key})
        assert again.status_code == 201 and again.json() == created.json()  # replayed
        read = await self.budget(fy)
        assert read.json() == {**created.json(), "adjustments": []}
        assert read.headers["etag"] == created.headers["etag"]
        assert fy in await self.listed_years()
        return read

    async def revise_approve_adjust(self, fy: str, etag: str) -> dict[str, Any]:
        """Revise the draft, approve it (refusing a stale ETag), then adjust it."""
        url = f"/v1/funding/years/{fy}/budget"
        revised = await self.client.patch(url, json={"total": "1200000.00"},
                                          headers={**self.officer, "If-Match": etag})
        assert revised.status_code == 200, revised.text
        assert revised.json()["cohort_block"] == "950000.00"
        stale = await self.client.post(f"{url}/approve", json={},
                                       headers={**self.officer, "If-Match": etag})
        assert stale.status_code == 412, stale.text
        approved = await self.client.post(f"{url}/approve", json={},
                                          headers={**self.officer,
                                                   "If-Match": revised.headers["etag"]})
        assert approved.status_code == 200, approved.text
        assert approved.json()["status"] == "approved"
        adjusted = await self.client.post(
            f"{url}/adjustments", json={"block": "formula", "amount": "-50000.00",
                                        "reason": "Moved to the cohort block"},
            headers={**self.officer, "If-Match": approved.headers["etag"]})
        assert adjusted.status_code == 200, adjusted.text
        final: dict[str, Any] = (await self.budget(fy)).json()
        assert final["status"] == "approved" and final["formula_block"] == "200000.00"
        assert [a["reason"] for a in final["adjustments"]] == ["Moved to the cohort block"]
        return final

    async def whole_cycle(self, fy: str,
                          meanwhile: Callable[[str], Awaitable[None]] | None = None
                          ) -> dict[str, Any]:
        draft = await self.draft(fy)
        if meanwhile is not None:
            await meanwhile(fy)
        return await self.revise_approve_adjust(fy, draft.headers["etag"])


@pytest.fixture
async def old_release(tmp_path: Path, test_database: TestDatabase, local_keys: Any,
                      token_factory: Any, nats_url: str, nats_namespace: str
                      ) -> AsyncIterator[tuple[OldRelease, Database, Path, str]]:
    """The current funding app on a database at its head revision N, and a migrations folder
    whose head is the expand revision N+1."""
    folder = tmp_path / SERVICE
    previous_head = expanded_migrations(folder)
    async with service_database(test_database, SERVICE, revision=previous_head,
                                migrations_dir=folder) as url:
        # A namespace of its own (removed with the session's), so no other test sees its events.
        namespace = f"{nats_namespace}_release{uuid.uuid4().hex[:6]}"
        settings = Settings(database_url=url, nats_url=nats_url, nats_namespace=namespace,
                            environment="test", auth_jwks_file=local_keys.jwks_path,
                            relay_poll_interval_s=0.2, consumer_fetch_timeout_s=0.5,
                            referrals_consumer=f"funding-release-{uuid.uuid4().hex[:8]}",
                            db_pool_size=5, log_level="WARNING")
        # The stream its consumer reads exists (a stack's referrals relay makes it).
        nc = await nats.connect(nats_url)
        try:
            await ensure_stream(nc.jetstream(), settings, "referrals")
        finally:
            await nc.close()
        database = Database(url, pool_size=2, max_overflow=0, application_name="test-release")
        app = create_app(settings)
        try:
            async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport,
                                             base_url="http://funding") as client:
                    yield OldRelease(client, token_factory), database, folder, previous_head
        finally:
            await database.dispose()


async def test_the_previous_release_works_on_the_expanded_schema_and_after_its_downgrade(
    old_release: tuple[OldRelease, Database, Path, str],
) -> None:
    app, database, folder, previous_head = old_release

    async def schema_state() -> tuple[str, bool, bool]:
        async with database.transaction() as session:
            version = (await session.execute(
                text(f"SELECT version_num FROM {SERVICE}.alembic_version"))).scalar_one()
            column = (await session.execute(text(
                "SELECT count(*) FROM information_schema.columns WHERE table_schema = :s"
                " AND table_name = 'budgets' AND column_name = :c"),
                {"s": SERVICE, "c": NEW_COLUMN})).scalar_one()
            table = (await session.execute(text("SELECT to_regclass(:t) IS NOT NULL"),
                                           {"t": f"{SERVICE}.{NEW_TABLE}"})).scalar_one()
        return version, column == 1, bool(table)

    async def migrate(step: Callable[..., None], revision: str) -> None:
        await asyncio.to_thread(step, folder, database.url, SERVICE, revision)

    # 1. The baseline: the old release on its own schema (revision N).
    assert await schema_state() == (previous_head, False, False)
    before = await app.whole_cycle("2031-32")

    # 2. The next release's expand migration runs while the old release serves.
    await migrate(migrations.upgrade, EXPAND)
    assert await schema_state() == (EXPAND, True, True)
    assert (await app.budget("2031-32")).json() == before  # what it wrote reads the same

    async def new_release_writes(fy: str) -> None:
        """What the next release does beside the old one: fills the new column, uses the
        new table."""
        async with database.transaction() as session:
            budget_id = (await session.execute(text(
                f"UPDATE {SERVICE}.budgets SET {NEW_COLUMN} = 'FIN-0042'"
                " WHERE financial_year = :fy RETURNING id"), {"fy": fy})).scalar_one()
            await session.execute(text(
                f"INSERT INTO {SERVICE}.{NEW_TABLE} (id, budget_id, note)"
                " VALUES (:id, :budget, 'written by the next release')"),
                {"id": uuid.uuid4(), "budget": budget_id})

    expanded = await app.whole_cycle("2032-33", meanwhile=new_release_writes)
    assert {"2031-32", "2032-33"} <= set(await app.listed_years())
    async with database.transaction() as session:  # the old code left the new data alone
        kept = (await session.execute(text(
            f"SELECT b.{NEW_COLUMN}, count(n.id) FROM {SERVICE}.budgets b"
            f" LEFT JOIN {SERVICE}.{NEW_TABLE} n ON n.budget_id = b.id"
            " WHERE b.financial_year = :fy GROUP BY b.id"), {"fy": "2032-33"})).one()
    assert tuple(kept) == ("FIN-0042", 1)

    # 3. The expand migration is downgraded while the old release serves.
    await migrate(migrations.downgrade, previous_head)
    assert await schema_state() == (previous_head, False, False)
    assert (await app.budget("2031-32")).json() == before
    assert (await app.budget("2032-33")).json() == expanded
    await app.whole_cycle("2033-34")
    assert {"2031-32", "2032-33", "2033-34"} <= set(await app.listed_years())
