"""Retention: the dry run changes nothing; the real run anonymises exactly what is past
retention, keeping the statistics and dropping the identity and free text."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta
from typing import Any

from referrals_harness import (
    Env,
    EnvFactory,
    Tokens,
    child_body,
    cohort_body,
    walk_to,
)
from sqlalchemy import text

from lfi_referrals.__main__ import anonymise


async def _snapshot(env: Any) -> list[tuple[Any, ...]]:
    async with env.database.transaction() as session:
        rows = await session.execute(text(
            "SELECT r.*, (SELECT array_agg(body ORDER BY id) FROM referrals.case_notes n "
            "WHERE n.referral_id = r.id) FROM referrals.referrals r ORDER BY id"))
        return [tuple(r) for r in rows]


async def test_dry_run_changes_nothing_and_the_real_run_anonymises_exactly_past_retention(
        make_env: EnvFactory, tokens: Tokens) -> None:
    env = await make_env(schools=20)
    # Past retention: a closed child referral of a child born 1995 (+25 years = 2020).
    old = await walk_to(env, tokens, "closed",
                        child_body(child={"date_of_birth": "1995-03-01", "year_group": "11"}))
    note = await env.client.post(f"/v1/referrals/{old['id']}/notes",
                                 json={"body": "Mother called about the move."},
                                 headers=tokens.school_a)
    assert note.status_code == 201
    old_declined = await walk_to(env, tokens, "declined",
                                 child_body(child={"date_of_birth": "1994-06-30"}))
    # Not past retention: a younger child's closed referral, a live old one, a group one.
    young = await walk_to(env, tokens, "closed")
    live_old = await walk_to(env, tokens, "submitted",
                             child_body(child={"date_of_birth": "1995-03-01"}))
    group = await walk_to(env, tokens, "withdrawn", cohort_body())

    before = await _snapshot(env)
    report = await anonymise(env.settings, apply=False)
    assert report["applied"] is False
    assert report["referrals_past_retention"] == {"child_referral": 2}
    assert await _snapshot(env) == before

    applied = await anonymise(env.settings, apply=True)
    assert applied["referrals_past_retention"] == {"child_referral": 2}
    after = {r["id"]: r for r in [
        (await env.client.get(f"/v1/referrals/{x['id']}", headers=tokens.admin)).json()
        for x in (old, old_declined, young, live_old, group)]}
    for gone in (old, old_declined):
        ref = after[gone["id"]]
        assert ref["anonymised_at"] is not None
        child = ref["child"]
        assert (child["given_name"], child["family_name"], child["date_of_birth"],
                child["upn"]) == (None, None, None, None)
        assert ref["concerns"] is None and ref["already_tried"] is None
        assert ref["parental_agreement"] is None
        # Statistics kept.
        assert child["child_id"] == gone["child"]["child_id"]
        assert child["primary_need"] == "SEMH" and ref["status"] == gone["status"]
        assert ref["school_urn"] == gone["school_urn"]
    assert after[old["id"]]["support_plan"]["actions"] == []
    assert after[old["id"]]["support_plan"]["level"] == "targeted"
    notes = (await env.client.get(f"/v1/referrals/{old['id']}/notes",
                                  headers=tokens.admin)).json()["items"]
    assert [n["body"] for n in notes] == [None]
    for kept in (young, live_old, group):
        assert after[kept["id"]]["anonymised_at"] is None
        assert after[kept["id"]]["concerns"] == kept["concerns"]
    assert after[young["id"]]["child"]["upn"] == young["child"]["upn"]

    # Run again: nothing more is past retention. Years later, the group referral is.
    assert (await anonymise(env.settings, apply=True))["referrals_past_retention"] == {}
    later = await anonymise(env.settings, apply=False, on=date.today() + timedelta(days=365 * 8))
    assert later["referrals_past_retention"] == {"group_referral": 1}


async def test_the_anonymise_command_is_a_dry_run_by_default(env: Env) -> None:
    environ = {"LFI_REFERRALS_DATABASE_URL": env.settings.database_url, "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "lfi_referrals", "anonymise"], env=environ,
                         capture_output=True, text=True, timeout=60, check=True)
    assert '"applied": false' in out.stdout
