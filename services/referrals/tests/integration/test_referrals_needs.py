"""A child's needs, as filtered on: the primary and the secondary need, kept through the
lifecycle and replaced, not added to, by an amendment."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from referrals_harness import SCHOOL_A, Env, Tokens, child_body, create, walk_to
from sqlalchemy import select

from lfi_referrals.db.models import ReferralRow, table_of

_REFERRALS = table_of(ReferralRow)


async def stored_needs(env: Env, referral_id: str) -> list[str]:
    async with env.database.transaction() as session:
        needs: list[str] = (await session.execute(
            select(_REFERRALS.c.needs).where(_REFERRALS.c.id == UUID(referral_id)))).scalar_one()
    return needs


async def test_the_secondary_need_stays_through_every_transition(env: Env,
                                                                 tokens: Tokens) -> None:
    body = child_body(SCHOOL_A, child={"primary_need": "SEMH", "secondary_need": "SLCN"})
    ref = await walk_to(env, tokens, "in_support", body)
    assert await stored_needs(env, ref["id"]) == ["SEMH", "SLCN"]
    listed = await env.client.get("/v1/referrals", params={"need": "SLCN", "limit": 200},
                                  headers=tokens.practitioner_north)
    assert listed.status_code == 200, listed.text
    assert ref["id"] in {item["id"] for item in listed.json()["items"]}


async def test_an_amendment_replaces_the_secondary_need(env: Env, tokens: Tokens) -> None:
    ref = await create(env, tokens.school_a, child_body(
        SCHOOL_A, child={"primary_need": "SEMH", "secondary_need": "SLCN"}))
    details: dict[str, Any] = child_body(SCHOOL_A, child={
        "upn": ref["child"]["upn"], "primary_need": "SEMH", "secondary_need": "MLD"})
    details.pop("school_urn")
    amended = await env.client.put(f"/v1/referrals/{ref['id']}", json=details,
                                   headers={**tokens.school_a, "If-Match": f'"{ref["version"]}"'})
    assert amended.status_code == 200, amended.text
    assert await stored_needs(env, ref["id"]) == ["SEMH", "MLD"]
