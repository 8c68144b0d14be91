"""The formula block through the API: CSV inputs all or nothing, published allocations that sum
to the block and explain themselves, what-if previews that change nothing, schools seeing only
their own allocation."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest
from conftest import FundingHarness
from sqlalchemy import func, select

from lfi_funding.db.models import platform
from lfi_shared.auth import Role

FY = "2025-26"  # seeded: approved budget, formula v1, 2025/26 term dates
MEASURES = ("fsm_ever6", "low_prior_attainment", "sen_support_pupils", "ehcp_pupils")
HEADER = "urn,pupils_on_roll," + ",".join(MEASURES)


def school_rows(count: int, seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        roll = rng.randint(40, 1600)
        counts = [rng.randint(0, roll // 3) for _ in MEASURES]
        rows.append(f"{120000 + i},{roll}," + ",".join(map(str, counts)))
    return rows


async def put_csv(funding: FundingHarness, fy: str, lines: list[str]) -> Any:
    return await funding.client.put(
        f"/v1/funding/years/{fy}/formula/inputs", content="\n".join(lines) + "\n",
        headers={**funding.officer, "Content-Type": "text/csv"})


async def all_allocations(funding: FundingHarness, headers: dict[str, str]) -> list[Any]:
    items: list[Any] = []
    cursor = None
    while True:
        params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        r = await funding.client.get(f"/v1/funding/years/{FY}/allocations", params=params,
                                     headers=headers)
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return items


@pytest.fixture(scope="module")
async def published(funding: FundingHarness) -> dict[str, Any]:
    """420 schools' inputs imported and the 2025-26 formula block published."""
    r = await put_csv(funding, FY, [HEADER, *school_rows(420)])
    assert r.status_code == 200, r.text
    assert r.json()["rows"] == 420
    formula = await funding.client.get(f"/v1/funding/years/{FY}/formula",
                                       headers=funding.officer)
    r = await funding.client.post(f"/v1/funding/years/{FY}/formula/publish",
                                  headers={**funding.officer, "If-Match": formula.headers["etag"]})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_a_csv_with_one_bad_row_writes_nothing_and_names_the_row(
        funding: FundingHarness) -> None:
    fy = "2034-35"
    r = await funding.client.put(f"/v1/funding/years/{fy}/formula", headers=funding.officer,
                                 json={"factors": [
                                     {"code": "pupils_on_roll", "basis": "per_pupil_on_roll",
                                      "weight": "10"},
                                     {"code": "ehcp_pupils", "basis": "per_pupil_in_measure",
                                      "weight": "400"}]})
    assert r.status_code == 200, r.text
    good = await funding.client.put(
        f"/v1/funding/years/{fy}/formula/inputs",
        content="urn,pupils_on_roll,ehcp_pupils\n130001,300,4\n130002,200,2\n",
        headers={**funding.officer, "Content-Type": "text/csv"})
    assert good.status_code == 200, good.text

    bad = await funding.client.put(
        f"/v1/funding/years/{fy}/formula/inputs",
        content="urn,pupils_on_roll,ehcp_pupils\n130001,310,4\n130002,210,2\n"
                "130003,150,999\n130004,90,1\n",
        headers={**funding.officer, "Content-Type": "text/csv"})
    assert bad.status_code == 422
    problem = bad.json()
    assert problem["bad_lines"] == [4]
    assert [e["field"] for e in problem["errors"]] == ["line[4].ehcp_pupils"]
    assert "line(s) 4" in problem["detail"] and "nothing was imported" in problem["detail"]

    inputs = (await funding.client.get(f"/v1/funding/years/{fy}/formula/inputs",
                                       headers=funding.officer)).json()["items"]
    assert [(i["urn"], i["pupils_on_roll"]) for i in inputs] == [("130001", 300),
                                                                 ("130002", 200)]


async def test_every_bad_row_is_reported_by_line(funding: FundingHarness) -> None:
    r = await put_csv(funding, "2034-35", ["urn,pupils_on_roll,ehcp_pupils", "12345,10,1",
                                           "130002,ten,1", "130002,20,1", "130009,20,-1"])
    assert r.status_code == 422
    assert r.json()["bad_lines"] == [2, 3, 4, 5]
    assert {e["field"] for e in r.json()["errors"]} == {
        "line[2].urn", "line[3].pupils_on_roll", "line[4].urn", "line[5].ehcp_pupils"}


async def test_each_schools_explanation_sums_to_its_allocation(
        funding: FundingHarness, published: dict[str, Any]) -> None:
    assert published["version"] == 1 and published["schools"] == 420
    items = await all_allocations(funding, funding.officer)
    assert len(items) == 420
    for item in items:
        parts = sum(Decimal(f["amount"]) for f in item["explanation"])
        assert parts == Decimal(item["amount"]), item["urn"]
        assert [f["factor_code"] for f in item["explanation"]] == [
            "pupils_on_roll", *MEASURES, "lump_sum"]
    assert sum(Decimal(i["amount"]) for i in items) == Decimal(published["block"])
    one = await funding.client.get(f"/v1/funding/years/{FY}/allocations/120007",
                                   headers=funding.officer)
    assert one.status_code == 200
    assert sum(Decimal(f["amount"]) for f in one.json()["explanation"]) == Decimal(
        one.json()["amount"])


async def test_a_what_if_preview_leaves_the_published_allocations_unchanged(
        funding: FundingHarness, published: dict[str, Any]) -> None:
    before = await all_allocations(funding, funding.officer)
    engine = funding.app.state.database.engine
    async with engine.connect() as conn:
        outbox_before = (await conn.execute(
            select(func.count()).select_from(platform.messaging.outbox))).scalar_one()

    r = await funding.client.post(f"/v1/funding/years/{FY}/formula/what-if",
                                  headers=funding.officer,
                                  json={"weights": {"ehcp_pupils": "900"},
                                        "formula_block": "12000000.00"})
    assert r.status_code == 200, r.text
    preview = r.json()
    assert preview["baseline_publication"] == 1 and preview["schools"] == 420
    assert sum(Decimal(c["scenario"]) for c in preview["changes"]) == Decimal("12000000.00")
    assert any(Decimal(c["change"]) != 0 for c in preview["changes"])

    assert await all_allocations(funding, funding.officer) == before
    publication = (await funding.client.get(f"/v1/funding/years/{FY}/formula/publication",
                                            headers=funding.officer)).json()
    assert publication["version"] == 1
    formula = await funding.client.get(f"/v1/funding/years/{FY}/formula",
                                       headers=funding.officer)
    assert formula.json()["version"] == 1
    async with engine.connect() as conn:
        outbox_after = (await conn.execute(
            select(func.count()).select_from(platform.messaging.outbox))).scalar_one()
    assert outbox_after == outbox_before


async def test_a_what_if_with_an_unknown_factor_is_a_clear_problem(
        funding: FundingHarness, published: dict[str, Any]) -> None:
    r = await funding.client.post(f"/v1/funding/years/{FY}/formula/what-if",
                                  headers=funding.officer, json={"weights": {"nope": "1"}})
    assert r.status_code == 422
    assert r.json()["errors"][0]["code"] == "unknown_factor"


async def test_publishing_emits_formula_published(funding: FundingHarness,
                                                  published: dict[str, Any]) -> None:
    engine = funding.app.state.database.engine
    outbox = platform.messaging.outbox
    async with engine.connect() as conn:
        payloads = (await conn.execute(select(outbox.c.payload).where(
            outbox.c.event_type == "lfi.funding.formula.published.v1"))).scalars().all()
    assert [p["data"]["version"] for p in payloads] == [1]
    assert payloads[0]["data"]["block"] == published["block"]
    assert payloads[0]["data"]["schools"] == 420


async def test_publishing_needs_the_current_formula_etag(funding: FundingHarness,
                                                         published: dict[str, Any]) -> None:
    r = await funding.client.post(f"/v1/funding/years/{FY}/formula/publish",
                                  headers=funding.officer)
    assert r.status_code == 428
    r = await funding.client.post(f"/v1/funding/years/{FY}/formula/publish",
                                  headers={**funding.officer, "If-Match": '"99"'})
    assert r.status_code == 412


async def test_a_school_sees_only_its_own_allocation(funding: FundingHarness,
                                                     published: dict[str, Any]) -> None:
    own = funding.school("120003")
    r = await funding.client.get(f"/v1/funding/years/{FY}/allocations/120003", headers=own)
    assert r.status_code == 200 and r.json()["urn"] == "120003"
    other = await funding.client.get(f"/v1/funding/years/{FY}/allocations/120004", headers=own)
    assert other.status_code == 404
    listed = await all_allocations(funding, own)
    assert [i["urn"] for i in listed] == ["120003"]
    r = await funding.client.post(f"/v1/funding/years/{FY}/formula/what-if", headers=own,
                                  json={})
    assert r.status_code == 403
    auditor = funding.as_(Role.auditor)
    assert (await funding.client.get(f"/v1/funding/years/{FY}/allocations/120004",
                                     headers=auditor)).status_code == 200
    r = await funding.client.put(f"/v1/funding/years/{FY}/formula/inputs", content="x",
                                 headers={**auditor, "Content-Type": "text/csv"})
    assert r.status_code == 403


async def test_published_allocations_commit_the_whole_formula_block(
        funding: FundingHarness, published: dict[str, Any]) -> None:
    r = await funding.client.get(f"/v1/funding/reports/years/{FY}/schools",
                                 params={"limit": 1000}, headers=funding.officer)
    assert r.status_code == 200
    lines = r.json()["items"]
    assert sum(Decimal(s["formula_allocated"]) for s in lines) == Decimal(published["block"])
    blocks = (await funding.client.get(f"/v1/funding/reports/years/{FY}/blocks",
                                       headers=funding.officer)).json()["blocks"]
    formula_block = next(b for b in blocks if b["block"] == "formula")
    assert formula_block["committed"] == published["block"]
    assert formula_block["remaining"] == "0.00" and formula_block["paid"] == "0.00"
