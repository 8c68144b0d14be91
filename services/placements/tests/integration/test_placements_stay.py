"""The maximum stay (EIB one term, APC three terms) is counted in terms by the calendar, across
term boundaries and academic year ends; a planned end beyond it is a problem naming the
latest end allowed."""

from __future__ import annotations

from datetime import date

from placements_harness import HarnessFactory

TERMS_2026_27 = {"academic_year": "2026/27", "terms": [
    {"name": "autumn", "start": "2026-09-02", "end": "2026-12-18"},
    {"name": "spring", "start": "2027-01-05", "end": "2027-03-26"},
    {"name": "summer", "start": "2027-04-12", "end": "2027-07-21"},
]}


async def test_eib_planned_end_beyond_one_term_is_refused_across_a_term_boundary(
        harness: HarnessFactory) -> None:
    h = await harness(fixed_today=date(2025, 10, 1))
    await h.add_reference_data()
    await h.add_provision(capacity=5)

    refused = await h.request(start=date(2025, 12, 1), planned_end=date(2026, 1, 10))
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["type"].endswith("/planned-end-invalid")
    assert problem["latest_end"] == "2025-12-19"  # the end of the autumn term
    assert problem["errors"][0]["field"] == "body.planned_end"
    assert problem["errors"][0]["code"] == "beyond_maximum_stay"

    # Starting in the Christmas holiday counts from the spring term.
    holiday = await h.request(start=date(2025, 12, 22), planned_end=date(2026, 4, 15))
    assert holiday.status_code == 422 and holiday.json()["latest_end"] == "2026-03-27"
    fits = await h.request(start=date(2025, 12, 22), planned_end=date(2026, 3, 27))
    assert fits.status_code == 201, fits.text
    listed = (await h.client.get("/v1/placements/requests", headers=h.headers())).json()
    assert len(listed["items"]) == 1  # nothing was made by the refusals


async def test_apc_planned_end_beyond_three_terms_is_refused_across_an_academic_year_end(
        harness: HarnessFactory) -> None:
    h = await harness(fixed_today=date(2025, 10, 1))
    await h.add_reference_data()
    await h.add_provision(kind="apc", capacity=5, opening_date=date(2025, 1, 6))

    # Spring and summer 2025/26, then autumn 2026/27: not entered yet.
    unknown = await h.request(kind="apc", start=date(2026, 1, 12),
                              planned_end=date(2026, 12, 1))
    assert unknown.status_code == 422
    assert unknown.json()["type"].endswith("/calendar-incomplete")
    assert unknown.json()["missing_academic_year"] == "2026/27"

    added = await h.client.post("/v1/calendar/terms", json=TERMS_2026_27, headers=h.headers())
    assert added.status_code == 201, added.text
    terms = (await h.client.get("/v1/calendar/terms", headers=h.headers())).json()["items"]
    assert len(terms) == 6

    beyond = await h.request(kind="apc", start=date(2026, 1, 12),
                             planned_end=date(2027, 1, 5))
    assert beyond.status_code == 422
    assert beyond.json()["latest_end"] == "2026-12-18"
    within = await h.request(kind="apc", start=date(2026, 1, 12), planned_end=date(2026, 12, 18))
    assert within.status_code == 201, within.text
    assert within.json()["placement"]["planned_end"] == "2026-12-18"


async def test_an_extension_stays_within_the_maximum_stay(harness: HarnessFactory) -> None:
    h = await harness(fixed_today=date(2025, 10, 1))
    await h.add_reference_data()
    await h.add_provision(capacity=5)
    placement = (await h.request(start=date(2025, 11, 3),
                                 planned_end=date(2025, 11, 28))).json()["placement"]
    url = f"/v1/placements/{placement['id']}/planned-end"
    extended = await h.client.post(url, json={"planned_end": "2025-12-19"},
                                   headers={**h.headers(), "If-Match": '"1"'})
    assert extended.status_code == 200, extended.text
    assert extended.json()["planned_end"] == "2025-12-19"
    beyond = await h.client.post(url, json={"planned_end": "2026-01-07"},
                                 headers={**h.headers(), "If-Match": '"2"'})
    assert beyond.status_code == 422
    assert beyond.json()["latest_end"] == "2025-12-19"


async def test_term_dates_that_leave_a_gap_are_refused_by_field(harness: HarnessFactory) -> None:
    h = await harness()
    await h.add_reference_data()
    gap = {"academic_year": "2026/27", "terms": [
        {"name": "spring", "start": "2027-01-05", "end": "2027-03-26"}]}
    refused = await h.client.post("/v1/calendar/terms", json=gap, headers=h.headers())
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["code"] == "missing_term"
