"""The DfE register import: good rows in, bad rows reported by line, idempotent re-import;
zone and school changes publish events; the seed is idempotent."""

from __future__ import annotations

from referrals_harness import Env, EnvFactory, Tokens
from sqlalchemy import text

from lfi_referrals.sample_register import ZONES, sample_rows, to_csv
from lfi_referrals.seed import seed


async def _count(env: Env, sql: str) -> int:
    async with env.database.transaction() as session:
        return int((await session.execute(text(sql))).scalar_one())


async def test_a_400_school_register_with_bad_rows_imports_the_good_and_reports_the_bad(
        make_env: EnvFactory, tokens: Tokens) -> None:
    env = await make_env(schools=0)
    rows = sample_rows(400, seed=7)
    bad = {  # line in the file (header is line 1) → what is wrong
        5: ("URN", "12345", "urn_format"),
        17: ("LA (code)", "925", "laestab_la_code"),
        40: ("EstablishmentNumber", "12", "establishment_number_format"),
        41: ("EstablishmentName", "", "missing"),
        99: ("Zone", "Atlantis", "unknown_zone"),
        250: ("NumberOfPupils", "lots", "not_an_integer"),
        333: ("URN", rows[0]["URN"], "duplicate_urn"),
    }
    for line, (column, value, _) in bad.items():
        rows[line - 2][column] = value
    csv_file = to_csv(rows)
    headers = {**tokens.admin, "Content-Type": "text/csv"}
    r = await env.client.post("/v1/schools/imports", content=csv_file, headers=headers)
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["rows"] == 400 and result["registered"] == 400 - len(bad)
    assert {x["line"]: x["errors"][0]["code"] for x in result["rejected"]} == {
        line: code for line, (_, _, code) in bad.items()}
    assert await _count(env, "SELECT count(*) FROM referrals.schools") == 393
    events = await _count(env, "SELECT count(*) FROM referrals.outbox "
                               "WHERE event_type = 'lfi.referrals.school.registered.v1'")
    assert events == 393

    again = await env.client.post("/v1/schools/imports", files={"file": ("gias.csv", csv_file,
                                                                         "text/csv")},
                                  headers=tokens.admin)
    assert again.status_code == 200, again.text
    assert again.json()["registered"] == 0 and again.json()["updated"] == 0
    assert again.json()["unchanged"] == 393 and len(again.json()["rejected"]) == len(bad)
    assert await _count(env, "SELECT count(*) FROM referrals.outbox "
                             "WHERE event_type LIKE 'lfi.referrals.school.%'") == 393
    assert await _count(env, "SELECT max(version) FROM referrals.schools") == 1

    # A changed row updates that school only, and says so once.
    rows[2]["NumberOfPupils"] = "999"
    changed = (await env.client.post("/v1/schools/imports", content=to_csv(rows),
                                     headers=headers)).json()
    assert (changed["updated"], changed["unchanged"]) == (1, 392)
    assert await _count(env, "SELECT count(*) FROM referrals.outbox "
                             "WHERE event_type = 'lfi.referrals.school.updated.v1'") == 1


async def test_import_refuses_a_file_without_the_register_columns(env: Env,
                                                                  tokens: Tokens) -> None:
    r = await env.client.post("/v1/schools/imports", content=b"name,town\nA,B\n",
                              headers={**tokens.admin, "Content-Type": "text/csv"})
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} >= {"body.URN", "body.LA (code)"}
    refused = await env.client.post("/v1/schools/imports", content=b"URN\n",
                                    headers={**tokens.school_a, "Content-Type": "text/csv"})
    assert refused.status_code == 403


async def test_renaming_a_zone_and_moving_a_school_publish_events(env: Env,
                                                                  tokens: Tokens) -> None:
    zone = env.zones["zone-07"]
    r = await env.client.patch(f"/v1/zones/{zone.id}", json={"name": "Breckland South"},
                               headers={**tokens.admin, "If-Match": f'"{zone.version}"'})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Breckland South"
    stale = await env.client.patch(f"/v1/zones/{zone.id}", json={"name": "Other"},
                                   headers={**tokens.admin, "If-Match": f'"{zone.version}"'})
    assert stale.status_code == 412
    school = (await env.client.get("/v1/schools/990003", headers=tokens.admin)).json()
    moved = await env.client.patch("/v1/schools/990003", json={"zone_id": str(zone.id)},
                                   headers={**tokens.admin, "If-Match": f'"{school["version"]}"'})
    assert moved.status_code == 200 and moved.json()["zone_id"] == str(zone.id)
    assert await _count(env, "SELECT count(*) FROM referrals.outbox WHERE event_type = "
                             f"'lfi.referrals.zone.renamed.v1' AND subject = '{zone.id}'") == 1
    assert await _count(env, "SELECT count(*) FROM referrals.outbox WHERE event_type = "
                             "'lfi.referrals.school.updated.v1' AND subject = '990003'") == 1
    zones = (await env.client.get("/v1/zones", headers=tokens.school_a)).json()["items"]
    assert len(zones) == 15
    assert {"North Norwich", "King's Lynn", "Zone 3"} <= {z["name"] for z in zones}


async def test_the_seed_loads_15_zones_and_the_sample_register_once(
        make_env: EnvFactory) -> None:
    env = await make_env(schools=0)
    await seed(env.settings)
    counts = (await _count(env, "SELECT count(*) FROM referrals.zones"),
              await _count(env, "SELECT count(*) FROM referrals.schools"),
              await _count(env, "SELECT count(*) FROM referrals.outbox"))
    await seed(env.settings)
    assert counts == (len(ZONES), 390, len(ZONES) + 390)
    assert (await _count(env, "SELECT count(*) FROM referrals.zones"),
            await _count(env, "SELECT count(*) FROM referrals.schools"),
            await _count(env, "SELECT count(*) FROM referrals.outbox")) == counts
    assert await _count(env, "SELECT count(*) FROM referrals.schools "
                             "WHERE name NOT LIKE '%(sample)'") == 0
