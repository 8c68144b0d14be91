"""The referral list: each filter narrows it, each caller sees only their own, pages walk it.

The shared app holds other tests' referrals too, so each check is that every item listed
matches, and that those of the referrals made here that match are listed and no others.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from referrals_harness import (
    SCHOOL_A,
    SCHOOL_A2,
    SCHOOL_B,
    Env,
    Tokens,
    act,
    child_body,
    cohort_body,
    create,
)
from sqlalchemy import text

Item = dict[str, Any]
Made = dict[str, Item]


@pytest.fixture(scope="module")
async def made(env: Env, tokens: Tokens) -> Made:
    """Five referrals, by name: a draft, three submitted, one submitted and overdue."""
    made: Made = {}
    made["draft_a"] = await create(env, tokens.school_a, child_body(SCHOOL_A))
    made["child_a"] = await act(env, tokens.school_a, await create(
        env, tokens.school_a, child_body(SCHOOL_A, child={"year_group": "7",
                                                          "primary_need": "ASD"})), "submit")
    made["cohort_a2"] = await act(env, tokens.school_a, await create(
        env, tokens.school_a, cohort_body(SCHOOL_A2, cohort={
            "description": "Year 5 group", "pupil_count": 6, "year_groups": ["5"],
            "primary_needs": ["ASD"]})), "submit")
    made["child_b"] = await act(env, tokens.school_b, await create(
        env, tokens.school_b, child_body(SCHOOL_B)), "submit")
    late = await act(env, tokens.school_a, await create(
        env, tokens.school_a, child_body(SCHOOL_A2)), "submit")
    async with env.database.transaction() as session:
        await session.execute(text("UPDATE referrals.referrals SET triage_due_on = :d "
                                   "WHERE id = :id"),
                              {"d": date.today() - timedelta(days=3), "id": late["id"]})
    made["late_a2"] = {**late, "overdue": True}
    return made


async def listed(env: Env, headers: dict[str, str], **params: Any) -> list[Item]:
    """Every item of the list, page after page."""
    items: list[Item] = []
    query: dict[str, Any] = {**params, "limit": 200}
    while True:
        r = await env.client.get("/v1/referrals", params=query, headers=headers)
        assert r.status_code == 200, r.text
        page = r.json()
        items += page["items"]
        if page["next_cursor"] is None:
            return items
        query["cursor"] = page["next_cursor"]


async def assert_listed(env: Env, headers: dict[str, str], made: Made,
                        matches: Callable[[Item], bool], **params: Any) -> None:
    items = await listed(env, headers, **params)
    assert all(matches(item) for item in items), params
    ids = {item["id"] for item in items}
    for name, referral in made.items():
        assert (referral["id"] in ids) == matches(referral), (name, params)


async def test_each_filter_keeps_only_what_matches(env: Env, tokens: Tokens, made: Made) -> None:
    admin = tokens.admin
    north = str(env.zones["north-norwich"].id)
    await assert_listed(env, admin, made, lambda i: True)
    await assert_listed(env, admin, made, lambda i: i["school_urn"] == SCHOOL_A2,
                        school_urn=SCHOOL_A2)
    await assert_listed(env, admin, made, lambda i: i["zone_id"] == north, zone_id=north)
    await assert_listed(env, admin, made, lambda i: i["status"] == "draft", status="draft")
    await assert_listed(env, admin, made, lambda i: i["status"] in ("draft", "submitted"),
                        status=["draft", "submitted"])
    await assert_listed(env, admin, made, lambda i: i["subject_kind"] == "cohort",
                        subject_kind="cohort")
    await assert_listed(env, admin, made, lambda i: "ASD" in i["needs"], need="ASD")
    await assert_listed(env, admin, made, lambda i: "7" in i["year_groups"], year_group="7")
    await assert_listed(env, admin, made, lambda i: (
        "ASD" in i["needs"] and "5" in i["year_groups"] and i["school_urn"] == SCHOOL_A2),
        need="ASD", year_group="5", school_urn=SCHOOL_A2)
    await assert_listed(env, admin, made, lambda i: i["overdue"], overdue="true")
    await assert_listed(env, admin, made, lambda i: not i["overdue"], overdue="false")
    today = date.today()
    await assert_listed(env, admin, made, lambda i: True,
                        created_from=(today - timedelta(days=1)).isoformat(),
                        created_to=(today + timedelta(days=1)).isoformat())
    assert await listed(env, admin, created_from=(today + timedelta(days=2)).isoformat()) == []
    assert await listed(env, admin, created_to=(today - timedelta(days=2)).isoformat()) == []


async def test_each_caller_sees_only_their_schools_or_zones(
        env: Env, tokens: Tokens, made: Made) -> None:
    north = str(env.zones["north-norwich"].id)
    lynn = str(env.zones["kings-lynn"].id)
    await assert_listed(env, tokens.school_a, made,
                        lambda i: i["school_urn"] in (SCHOOL_A, SCHOOL_A2))
    await assert_listed(env, tokens.school_b, made, lambda i: i["school_urn"] == SCHOOL_B)
    await assert_listed(env, tokens.practitioner_north, made, lambda i: i["zone_id"] == north)
    await assert_listed(env, tokens.practitioner_lynn, made, lambda i: i["zone_id"] == lynn)
    assert await listed(env, tokens.school_b, school_urn=SCHOOL_A) == []


async def test_pages_walk_the_list_newest_first_once_each(
        env: Env, tokens: Tokens, made: Made) -> None:
    whole = [item["id"] for item in await listed(env, tokens.admin)]
    walked: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        r = await env.client.get("/v1/referrals", params=params, headers=tokens.admin)
        assert r.status_code == 200, r.text
        page = r.json()
        walked += [item["id"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert walked == whole and len(set(walked)) == len(walked)
    created = [datetime.fromisoformat(item["created_at"])
               for item in await listed(env, tokens.admin)]
    assert created == sorted(created, reverse=True)


async def test_a_cursor_of_the_right_width_but_wrong_values_is_refused(
        env: Env, tokens: Tokens) -> None:
    forged = base64.urlsafe_b64encode(json.dumps(["not a time", 7]).encode()).decode().rstrip("=")
    r = await env.client.get("/v1/referrals", params={"cursor": forged}, headers=tokens.admin)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "query.cursor"
