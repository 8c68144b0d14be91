"""The referral list: each filter narrows it, each caller sees only their own, pages walk it.

The shared app holds other tests' referrals too, so each check is that every item listed
matches, and that those of the referrals made here that match are listed and no others.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from unittest.mock import ANY
from uuid import uuid4

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
from sqlalchemy import and_, select, text, true

from lfi_referrals.db.mapping import shown_funding_json, shown_placement_json
from lfi_referrals.db.models import ReferralRow, table_of
from lfi_referrals.domain.outcomes import (
    FundingStatus,
    PlacementEndReason,
    PlacementStatus,
    ShownFunding,
    ShownPlacement,
)
from lfi_referrals.schemas.referrals import ReferralSummary
from lfi_referrals.service.referrals import today as referrals_today
from lfi_referrals.service.views import SUMMARY_COLUMNS, referral_summary
from lfi_shared.http.pagination import Page, PageParams, keyset_page

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


async def _shows_outcomes(env: Env, referral: Item, *, placement: ShownPlacement | None,
                          funding: ShownFunding | None, **columns: Any) -> None:
    sets = ", ".join(f"{name} = :{name}" for name in columns)
    async with env.database.transaction() as session:
        await session.execute(
            text("UPDATE referrals.referrals SET shown_placement = CAST(:p AS jsonb), "
                 "shown_funding = CAST(:f AS jsonb)" + (f", {sets}" if sets else "") +
                 " WHERE id = :id"),
            {"p": json.dumps(shown_placement_json(placement)) if placement else None,
             "f": json.dumps(shown_funding_json(funding)) if funding else None,
             "id": referral["id"], **columns})


async def test_each_page_is_byte_for_byte_what_pydantic_writes(
        env: Env, tokens: Tokens, made: Made) -> None:
    """PostgreSQL writes the page: it must be the JSON ReferralSummary and Page write."""
    placed = await act(env, tokens.school_b, await create(env, tokens.school_b,
                                                          child_body(SCHOOL_B)), "submit")
    funded = await create(env, tokens.school_b, cohort_body(SCHOOL_B, cohort={
        "description": "Year 7 and 8", "pupil_count": 9, "year_groups": ["7", "8"],
        "primary_needs": ["SEMH", "ASD"]}))
    await _shows_outcomes(env, placed, placement=ShownPlacement(
        status=PlacementStatus.ENDED, request_id=uuid4(), provision_id=uuid4(),
        starts_on=date(2026, 1, 5), ends_on=date(2026, 3, 27),
        end_reason=PlacementEndReason.RETURNED_TO_HOME_SCHOOL,
        as_of=datetime(2026, 3, 27, 16, 5, 9, 120000, tzinfo=UTC), source_event_id=uuid4()),
        funding=ShownFunding(status=FundingStatus.PART_APPROVED, request_id=uuid4(),
                             application_id=uuid4(), awarded_pence=123405,
                             as_of=datetime(2026, 2, 1, 9, tzinfo=timezone(timedelta(hours=1))),
                             source_event_id=None),
        assigned_practitioner_id=uuid4(), triage_due_on=referrals_today(env.settings))
    await _shows_outcomes(env, funded, placement=None, funding=ShownFunding(
        status=FundingStatus.REQUESTED, request_id=uuid4(), application_id=None,
        awarded_pence=None, as_of=datetime(2026, 2, 2, tzinfo=UTC), source_event_id=None),
        updated_at=datetime(2026, 2, 2, 10, tzinfo=UTC))
    today = referrals_today(env.settings)
    c = table_of(ReferralRow).c
    north = env.zones["north-norwich"].id
    walks: list[tuple[dict[str, str], dict[str, Any], Any]] = [
        (tokens.admin, {}, true()),
        (tokens.school_b, {"school_urn": SCHOOL_B}, c.school_urn == SCHOOL_B),
        (tokens.practitioner_north, {"status": "submitted"},
         and_(c.zone_id == north, c.status == "submitted")),
    ]
    for headers, filters, where in walks:
        params = PageParams(limit=3, cursor=None)
        while True:
            query = {**filters, "limit": params.limit}
            if params.cursor:
                query["cursor"] = params.cursor
            r = await env.client.get("/v1/referrals", params=query, headers=headers)
            assert r.status_code == 200, r.text
            assert r.headers["content-type"] == "application/json"
            async with env.database.transaction() as session:
                rows, cursor = await keyset_page(session, select(*SUMMARY_COLUMNS).where(where),
                                                 [c.created_at, c.id], params, descending=True)
            expected = Page[ReferralSummary](items=[referral_summary(row, today) for row in rows],
                                             next_cursor=cursor)
            assert r.content == expected.model_dump_json().encode()
            if cursor is None:
                break
            params = PageParams(limit=3, cursor=cursor)
    shown = {item["id"]: item for item in await listed(env, tokens.school_b)}
    assert shown[placed["id"]]["shown"]["funding"] == {
        "status": "part_approved", "application_id": ANY, "amount_awarded": "1234.05",
        "as_of": "2026-02-01T09:00:00+01:00"}
    assert shown[placed["id"]]["shown"]["placement"]["as_of"] == "2026-03-27T16:05:09.120000Z"
    assert shown[placed["id"]]["overdue"] is False  # due today: overdue from tomorrow
    assert shown[funded["id"]]["child_id"] is None
    assert shown[funded["id"]]["updated_at"] == "2026-02-02T10:00:00Z"
